import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFrameworkConf, type FrameworkConf } from '../../core/framework.js';
import { defaultPaths } from '../../core/paths.js';
import {
  ConfigError,
  DEFAULT_CONFIG_FILE,
  parseConfigFile,
  resolveDaemonConfig,
  type ConfigFile,
  type DaemonConfig,
} from './daemonConfig.js';

/**
 * Reads dkmsd.conf (`--config`, else /etc/dkms/dkmsd.conf when it exists) and framework.conf.
 * A file named with --config must exist.
 */
export async function loadDaemonConfig(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DaemonConfig> {
  const file = configFile ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  let values: ConfigFile = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    values = parseConfigFile(text, file);
  }
  const confDir = values.conf_dir ?? defaultPaths(env).confDir;
  // Evaluating framework.conf costs a bash process: skip it when there is nothing to read.
  const hasFramework =
    existsSync(join(confDir, 'framework.conf')) || existsSync(join(confDir, 'framework.conf.d'));
  const framework: FrameworkConf = hasFramework ? await readFrameworkConf(confDir) : {};
  return resolveDaemonConfig(values, framework, { file, confDir, env });
}
