import { Command, InvalidArgumentError } from 'commander';
import { AddressInUseError } from './address-in-use.ts';
import { AlreadyInitialisedError } from './already-initialised.ts';
import { addMeshCommands } from './cli/mesh-commands.ts';
import { addNodeCommands } from './cli/node-commands.ts';
import { EXIT_WAIT_DEADLINE } from './cli/options.ts';
import { addTaskCommands } from './cli/task-commands.ts';
import { addWorkflowCommands } from './cli/workflow-commands.ts';
import { ClientError } from './client.ts';
import { ConfigError } from './config-error.ts';
import { VERSION } from './version.ts';
import { WaitDeadlineError } from './wait.ts';

const program = new Command('meshwork')
  .description('Run and talk to a Meshwork mesh node: shared CRDT state, task assignment, executors.')
  .version(VERSION, '-V, --version', 'print the version of meshwork')
  .showHelpAfterError()
  .exitOverride((err) => {
    // --help and --version exit 0; usage errors exit 2 like other CLIs.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

addNodeCommands(program);
addTaskCommands(program);
addWorkflowCommands(program);
addMeshCommands(program);

/** Exit status of `meshwork start` when an address it must listen on is held by another process. */
const EXIT_ADDRESS_IN_USE = 75;

function fail(err: unknown): void {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES') {
    const { address, port } = err as NodeJS.ErrnoException & { address?: string; port?: number };
    console.error(
      `meshwork: cannot listen on ${address ?? ''}:${port ?? ''} (${code}); set http.port or --http-port`,
    );
  } else if (
    err instanceof AddressInUseError ||
    err instanceof ConfigError ||
    err instanceof ClientError ||
    err instanceof InvalidArgumentError ||
    err instanceof WaitDeadlineError ||
    err instanceof AlreadyInitialisedError
  ) {
    console.error(`meshwork: ${err.message}`);
  } else {
    console.error(`meshwork: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  process.exit(
    err instanceof ConfigError
      ? 2
      : err instanceof AddressInUseError
        ? EXIT_ADDRESS_IN_USE
        : err instanceof WaitDeadlineError
          ? EXIT_WAIT_DEADLINE
          : 1,
  );
}

program.parseAsync(process.argv).catch(fail);
