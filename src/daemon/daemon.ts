import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { PACKAGE_VERSION as VERSION } from '../core/version.js';
import { createContext, defaultArch, type DkmsContext } from '../core/context.js';
import type { JobResult } from '../engine/autoinstall.js';
import { recoverAllModules } from '../engine/recovery.js';
import type { DaemonStatus, KernelOutcome } from '../protocol/messages.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import type { DaemonConfig } from './config/daemonConfig.js';
import { FailureMemory } from './failures/failureMemory.js';
import type { FinishCommand } from './finish/finishCommands.js';
import { createJobRunner } from './kernels/jobRunner.js';
import { KernelScheduler } from './kernels/kernelScheduler.js';
import { ReadinessRecorder } from './kernels/readinessRecorder.js';
import { readReadiness } from '../core/readiness.js';
import { ShutdownInhibitor } from './systemd/inhibitor.js';
import { logReporter } from './logger.js';
import { BuildQueue, type StartedBuild } from '../engine/queue/buildQueue.js';
import { BuildDurations, durationsFile } from '../engine/queue/buildEstimates.js';
import { createRequestHandlers, type DaemonCore } from './requestHandlers.js';
import { SocketServer } from './server/socketServer.js';
import type { ListenerSpec } from './server/socketRights.js';
import { buildFinishedRecord, kernelFinishedRecord } from './eventRecords.js';
import { buildStatus } from './statusSnapshot.js';
import { statusLine } from './statusLine.js';
import type { SdNotifier } from './systemd/sdNotify.js';
import { KernelTracker } from './watch/kernelTracker.js';
import { KernelWatcher } from './watch/kernelWatcher.js';
import { TreeReconciler } from './watch/treeReconciler.js';
import type { KernelProbe } from './watch/kernelProbe.js';
import { listOwed } from '../core/finishLedger.js';
import { isKernelRelease } from '../util/names.js';

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** After the stop timeout, how long a finish command that was cut short gets to go away. */
const CUT_SHORT_GRACE_MS = 6_000;

export interface DaemonEnvironment {
  runningKernel: string;
  /** The sockets to serve: passed by systemd, or bound from the configuration. */
  listeners: ListenerSpec[];
  initramfs: FinishCommand | undefined;
  udev: FinishCommand | undefined;
  /** systemd-inhibit, or undefined: no shutdown locks. */
  inhibit?: string | undefined;
}

/**
 * dkmsd: wires the watcher, the scheduler and its build queue, the socket server and the
 * systemd notifier; start() brings them up in order, stop() takes them down.
 */
export class Daemon implements DaemonCore {
  readonly scheduler: KernelScheduler;
  readonly kernels: KernelTracker;
  private readonly abort = new AbortController();
  /** Cuts running finish commands short once the stop timeout has passed. */
  private readonly finishAbort = new AbortController();
  private readonly ctx: DkmsContext;
  private readonly arch = defaultArch();
  private readonly failures: FailureMemory;
  private readonly durations: BuildDurations;
  private readonly queue: BuildQueue;
  private readonly server: SocketServer;
  private readonly watcher: KernelWatcher;
  private readonly inhibitor: ShutdownInhibitor;
  private readonly readiness: ReadinessRecorder;
  private readonly reconciler: TreeReconciler;
  private readonly startedAt = new Date();
  private phase: 'starting' | 'catching-up' | 'running' | 'stopping' = 'starting';
  private catchUpDone: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly config: DaemonConfig,
    private readonly logger: Logger,
    private readonly notifier: SdNotifier,
    private readonly env: DaemonEnvironment,
  ) {
    this.ctx = {
      ...createContext({
        paths: config.paths,
        framework: config.framework,
        parallelJobs: config.makeJobs,
        reporter: logReporter(logger),
      }),
      signal: this.abort.signal,
      // No cache for the life of the daemon: each unit of work brings its own.
      confCache: undefined,
    };
    this.kernels = new KernelTracker({
      installTree: config.paths.installTree,
      sourceTree: config.paths.sourceTree,
      runningKernel: env.runningKernel,
      allKernels: config.allKernels,
      distro: this.ctx.distro,
    });
    this.failures = new FailureMemory(config.stateFile, (message) => logger.warn(message));
    this.durations = new BuildDurations(durationsFile(config.stateFile));
    this.inhibitor = new ShutdownInhibitor(env.inhibit, logger);
    this.readiness = new ReadinessRecorder(this.ctx, env.runningKernel, this.inhibitor);
    this.queue = new BuildQueue({
      concurrency: config.concurrency,
      cpus: config.makeJobs,
      jobserver: true,
      run: createJobRunner(this.ctx, logger),
      onStart: (build) => this.onBuildStart(build),
      onFinish: (build, result) => this.onBuildFinish(build, result),
    });
    this.scheduler = new KernelScheduler({
      ctx: this.ctx,
      queue: this.queue,
      failures: this.failures,
      durations: this.durations,
      logger,
      arch: this.arch,
      runningKernel: env.runningKernel,
      initramfs: env.initramfs,
      udev: env.udev,
      signal: this.abort.signal,
      finishSignal: this.finishAbort.signal,
    });
    this.server = new SocketServer({
      listeners: env.listeners,
      handlers: createRequestHandlers(this, logger),
      logger,
    });
    this.watcher = new KernelWatcher({
      installTree: config.paths.installTree,
      sourceTree: config.paths.sourceTree,
      bootDir: config.paths.bootDir,
      debounceMs: config.debounceMs,
      logger,
    });
    this.reconciler = new TreeReconciler({
      installTree: config.paths.installTree,
      bootDir: config.paths.bootDir,
      debounceMs: config.debounceMs,
      kernels: this.kernels,
      watcher: this.watcher,
      scheduler: this.scheduler,
      logger,
      signal: this.abort.signal,
      stopping: () => this.phase === 'stopping',
    });
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    this.failures.load();
    this.scheduler.on('kernel-finished', (outcome) => this.onKernelFinished(outcome));
    this.scheduler.on('kernel-removed', (outcome) => void this.readiness.removed(outcome.kernel));
    await this.server.start();
    this.watcher.on('settled', () => void this.reconcile());
    await this.watcher.start();
    this.kernels.refresh();
    this.reconciler.updateWatches();
    logger.info(
      {
        version: VERSION,
        config: config.file,
        dkmsTree: config.paths.dkmsTree,
        sourceTree: config.paths.sourceTree,
        installTree: config.paths.installTree,
        concurrency: config.concurrency,
        makeJobs: config.makeJobs,
        runningKernel: this.env.runningKernel,
        initramfs: this.env.initramfs?.display ?? null,
        udev: this.env.udev?.display ?? null,
        kernels: [...this.kernels.all().keys()],
      },
      'dkmsd started',
    );
    this.phase = 'catching-up';
    this.notifier.ready('Catching up: checking every kernel');
    this.catchUpDone = this.catchUp().catch((error: unknown) =>
      logger.error({ err: error }, 'catch-up failed'),
    );
  }

  /** Stops accepting, aborts builds (their process groups are killed), waits for cleanup. */
  stop(reason: string): Promise<void> {
    this.stopped ??= this.shutdown(reason);
    return this.stopped;
  }

  private async shutdown(reason: string): Promise<void> {
    this.logger.info({ reason }, 'stopping');
    this.phase = 'stopping';
    const notified = this.notifier.stopping('Stopping: cancelling builds');
    this.server.stopAccepting();
    await this.watcher.stop();
    this.abort.abort();
    // Builds die at once; a finish step that is running (depmod, the initramfs) is waited for,
    // up to the stop timeout, then cut short and left owed in the ledger for the next start.
    const settled = Promise.all([
      this.queue.settled(),
      this.scheduler.settled(),
      this.catchUpDone,
    ]).then(() => true);
    const finishing = this.scheduler.finishing();
    if (finishing.length > 0)
      this.logger.info(
        { kernels: finishing, timeoutMs: this.config.stopTimeoutMs },
        'waiting for finish steps',
      );
    if (!(await within(settled, this.config.stopTimeoutMs))) {
      this.logger.warn(
        { kernels: this.scheduler.finishing(), timeoutMs: this.config.stopTimeoutMs },
        'stop timeout passed: cutting finish steps short; they stay owed',
      );
      this.finishAbort.abort();
      await within(settled, CUT_SHORT_GRACE_MS);
    }
    this.inhibitor.stop();
    this.server.closeAll();
    await notified;
    this.logger.info('stopped');
  }

  // --- DaemonCore: what the socket requests use -------------------------------------------

  isAdded(ref: ModuleVersionRef): boolean {
    return this.ctx.tree.isAdded(ref);
  }

  /** Looks at the install tree: kernels gone are cleaned up, kernels with new headers built. */
  reconcile(): Promise<void> {
    this.reconciler.reconcile();
    return Promise.resolve();
  }

  status(): DaemonStatus {
    return buildStatus({
      version: VERSION,
      state:
        this.phase === 'running'
          ? this.queue.busy || this.scheduler.busy
            ? 'busy'
            : 'idle'
          : this.phase,
      startedAt: this.startedAt,
      socket: this.server.controlPath ?? this.config.socket,
      statusSocket: this.server.statusPath,
      runningKernel: this.env.runningKernel,
      queue: this.queue.snapshot(),
      probes: this.kernels.all(),
      kernels: this.scheduler.kernels(),
      failures: this.failures.list(),
      owed: listOwed(this.ctx.paths.dkmsTree),
      inhibitors: this.inhibitor.held(),
      readiness: (kernel) => readReadiness(this.ctx.paths.dkmsTree, kernel),
    });
  }

  /**
   * What boot catch-up and rescan look at: the kernels to build for, and every kernel the
   * finish ledger says is owed something (those without headers only get finished).
   */
  catchUpKernels(): KernelProbe[] {
    const probes = this.kernels.catchUp();
    const planned = new Set(probes.map((probe) => probe.kernel));
    for (const owed of listOwed(this.ctx.paths.dkmsTree)) {
      if (owed.arch !== this.arch || planned.has(owed.kernel) || !isKernelRelease(owed.kernel))
        continue;
      planned.add(owed.kernel);
      probes.push({ kernel: owed.kernel, headers: undefined, headersElsewhere: false });
    }
    return probes;
  }

  // --- what happens, logged and told to systemd -------------------------------------------

  private async catchUp(): Promise<void> {
    const started = performance.now();
    // Interrupted commands (and an earlier dkmsd) are finished before anything is planned.
    await recoverAllModules(this.ctx);
    const kernels = this.catchUpKernels();
    if (!this.kernels.runningHasHeaders())
      this.logger.info(
        { kernel: this.env.runningKernel },
        'the running kernel has no headers in the install tree; nothing to build for it',
      );
    const outcomes = await this.scheduler.request(kernels);
    if (this.phase === 'catching-up') this.phase = 'running';
    this.logger.info(
      {
        kernels: outcomes.map((outcome) => outcome.kernel),
        installed: outcomes.reduce((n, outcome) => n + outcome.installed.length, 0),
        failed: outcomes.reduce((n, outcome) => n + outcome.failed.length, 0),
        durationMs: Math.round(performance.now() - started),
        sinceProcessStartMs: Math.round(performance.now()),
      },
      'catch-up finished',
    );
    this.updateStatus();
  }

  private onBuildStart(build: StartedBuild): void {
    const { module, version, kernel, arch } = build.request;
    const { makeJobs, jobserver } = build;
    this.logger.info({ module, version, kernel, arch, makeJobs, jobserver }, 'build started');
    const { running, waiting } = this.queue.snapshot();
    const pending = [...running.map((b) => b.request), ...waiting].filter(
      (request) => request.kernel === kernel,
    );
    void this.readiness.building(kernel, arch, pending);
    this.updateStatus();
  }

  private onBuildFinish(build: StartedBuild, result: JobResult): void {
    const durationMs = Date.now() - build.startedAt.getTime();
    if (result.status === 'installed') this.durations.record(build.request.module, durationMs);
    const { level, record } = buildFinishedRecord(build, result, durationMs);
    this.logger[level](record, 'build finished');
    this.updateStatus();
  }

  private onKernelFinished(outcome: KernelOutcome): void {
    void this.readiness.finished(outcome);
    this.logger.info(kernelFinishedRecord(outcome), 'kernel finished');
    this.updateStatus();
  }

  private updateStatus(): void {
    if (this.phase === 'stopping') return;
    const { running, waiting } = this.queue.snapshot();
    const line =
      this.phase === 'catching-up' && running.length === 0
        ? 'Catching up: checking every kernel'
        : statusLine(running, waiting.length, this.failures.list().length);
    this.notifier.status(line);
  }
}
