// @ts-check
/**
 * The layers of src/, lowest first (docs/architecture.md draws them). A folder may import
 * its own layer's folder and any lower layer, never a higher one or a peer on its own rank.
 * Every import counts, dynamic and type-only ones too: a cycle hidden behind `await import()`
 * is still a cycle.
 */
const LAYERS = [
  ['util'], // pure functions: versions, quoting, names, path containment
  ['core'], // the system dkms runs on: errors, paths, context, processes, locks, the tree layout
  ['kernel'], // facts about kernels: headers, config, module trees
  ['conf'], // dkms.conf evaluation and resolution
  ['status', 'protocol'], // dkms status; dkmsd's socket messages
  ['sign'], // signing keys, sign-file, Secure Boot
  ['engine'], // add, build, install, uninstall, remove, autoinstall: plans and their runners
  ['packaging', 'doctor'], // mktarball/mkdeb/mkrpm...; dkms doctor
  ['commands', 'daemon'], // dkms actions; dkmsd
  ['cli'], // the dkms entry point: the only place that prints and exits
];

const folder = (names) => `^src/(${names.join('|')})/`;
const layerRules = LAYERS.flatMap((layer, rank) => {
  const higher = LAYERS.slice(rank + 1).flat();
  const rules = [];
  if (higher.length > 0)
    rules.push({
      name: `layer-${layer.join('-')}`,
      comment: `${layer.join(', ')} must not import a higher layer (${higher.join(', ')})`,
      severity: 'error',
      from: { path: folder(layer) },
      to: { path: folder(higher) },
    });
  for (const name of layer) {
    const peers = layer.filter((other) => other !== name);
    if (peers.length > 0)
      rules.push({
        name: `peer-${name}`,
        comment: `${name} must not import its peer ${peers.join(', ')}`,
        severity: 'error',
        from: { path: `^src/${name}/` },
        to: { path: folder(peers) },
      });
  }
  return rules;
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles, not even through dynamic or type-only imports',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'unknown-layer',
      comment: 'every folder of src/ belongs to a layer (add new ones to LAYERS)',
      severity: 'error',
      from: { path: '^src/', pathNot: `${folder(LAYERS.flat())}` },
      to: {},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
