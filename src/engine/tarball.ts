/**
 * `dkms add <tarball>` and `dkms ldtarball` load DKMS tarballs; the format (upstream's
 * dkms_main_tree / dkms_source_tree / dkms_binaries_only) lives with the other archive
 * formats in src/packaging.
 */
export { loadTarball, type LoadTarballOptions } from '../packaging/loadTarball.js';
