import type { ModuleFacts, ModuleFileFacts } from './facts.js';
import { dkmsCommand, type CheckId, type Finding, type Severity } from './findings.js';

/** Builds findings for one module file with the fixes that apply to its module build. */
export function fileChecker(m: ModuleFacts, f: ModuleFileFacts, defaultArch: string) {
  const ref = { module: m.module, version: m.version, kernel: m.kernel, arch: m.arch };
  const reinstall = dkmsCommand('install', ref, defaultArch, '--force');
  const rebuild = `${dkmsCommand('unbuild', ref, defaultArch)} && ${dkmsCommand('install', ref, defaultArch)}`;
  const resign = dkmsCommand('sign', ref, defaultArch);
  const finding = (check: CheckId, severity: Severity, message: string, fix?: string): Finding => ({
    check,
    severity,
    kernel: m.kernel,
    arch: m.arch,
    module: m.module,
    version: m.version,
    ...(f.installed ? { file: f.installed } : {}),
    message,
    ...(fix ? { fix } : {}),
  });
  return { finding, reinstall, rebuild, resign, ref };
}

export type FileChecker = ReturnType<typeof fileChecker>;
