import { readFileSync } from 'node:fs';

/** dkms's distro_version(): ubuntu, else the first ID_LIKE word, else ID. */
export function readDistro(osRelease: string): string {
  let text: string;
  try {
    text = readFileSync(osRelease, 'utf8');
  } catch {
    return 'unknown';
  }
  const field = (name: string): string | undefined => {
    const match = new RegExp(`^${name}=("?)(.*)\\1$`, 'm').exec(text);
    return match?.[2];
  };
  const id = field('ID') ?? 'unknown';
  if (id === 'ubuntu') return id;
  const like = field('ID_LIKE')?.split(/\s+/)[0];
  return like || id;
}
