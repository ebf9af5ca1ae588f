import type { SandboxDecision } from '../engine/buildSandbox.js';
import type { Finding } from './findings.js';

/** What doctor knows about the build sandbox: dkms's own decision for a build here. */
export interface SandboxFacts {
  decision: SandboxDecision;
  /** Modules of build_sandbox_exempt (built unconfined on purpose). */
  exempt: string[];
}

/**
 * The build sandbox (docs/sandbox.md) as one finding: builds in bubblewrap are ok, unconfined
 * by choice (build_sandbox=none) is information, unconfined because bwrap is missing or cannot
 * make a sandbox here is a warning, and build_sandbox=bwrap without a working bwrap (every
 * build fails) an error.
 */
export function sandboxFindings(facts: SandboxFacts): Finding[] {
  const base = { check: 'sandbox' as const };
  const { decision } = facts;
  if (decision.sandbox) {
    const exempt = facts.exempt.length > 0 ? `; unconfined for ${facts.exempt.join(', ')}` : '';
    return [
      {
        ...base,
        severity: 'ok',
        message: `Module builds run in bubblewrap (${decision.bwrap}): no network, the system read-only${exempt}.`,
      },
    ];
  }
  const fix = decision.fix && `${decision.fix.charAt(0).toUpperCase()}${decision.fix.slice(1)}.`;
  if (decision.error)
    return [
      {
        ...base,
        severity: 'error',
        message: `build_sandbox=bwrap is set in framework.conf, but ${decision.reason}: every module build fails.`,
        ...(fix ? { fix } : {}),
      },
    ];
  if (decision.notice)
    return [
      {
        ...base,
        severity: 'warning',
        message: `Module builds run unconfined: ${decision.reason}.`,
        ...(fix ? { fix } : {}),
      },
    ];
  return [
    { ...base, severity: 'info', message: `Module builds run unconfined (${decision.reason}).` },
  ];
}
