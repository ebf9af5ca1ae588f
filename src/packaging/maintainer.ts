/**
 * The Maintainer of generated packages, `Name <email>`: DEBFULLNAME/DEBEMAIL (as dch and
 * dh_make read them), else NAME/EMAIL, else a placeholder.
 */
export function packageMaintainer(env: NodeJS.ProcessEnv = process.env): string {
  const email = env['DEBEMAIL'] || env['EMAIL'];
  const name = env['DEBFULLNAME'] || env['NAME'];
  if (email && /<.+>/.test(email)) return email.trim();
  return `${name || 'Dynamic Kernel Module Support'} <${email || 'root@localhost'}>`;
}

/** The packages' timestamp: SOURCE_DATE_EPOCH for reproducible builds, else now. */
export function packageDate(env: NodeJS.ProcessEnv = process.env): Date {
  const epoch = Number(env['SOURCE_DATE_EPOCH']);
  return Number.isInteger(epoch) && epoch >= 0 ? new Date(epoch * 1000) : new Date();
}
