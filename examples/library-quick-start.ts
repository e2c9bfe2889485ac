// Two mesh nodes on loopback share a Document; an agent on one runs a task submitted on the other.
import { createCoordinator } from '@meshwork/coordinator';
import { createMeshNode } from '@meshwork/transport';

const alice = await createMeshNode({ listen: ['/ip4/127.0.0.1/tcp/0'] });
const bob = await createMeshNode({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: alice.multiaddrs });

const aliceTasks = createCoordinator({ document: alice.document('tasks'), presence: alice.presence });
const bobTasks = createCoordinator({ document: bob.document('tasks'), presence: bob.presence });

bobTasks.registerAgent({
  id: 'summarizer',
  capabilities: ['summarize'],
  handler: (_task, ctx) => ({ summary: JSON.stringify(ctx.input).slice(1, 13) + '…', epoch: ctx.epoch }),
});

const id = aliceTasks.submit({
  type: 'summarize',
  needs: ['summarize'],
  input: 'Meshwork coordinates agents',
});
const done = await new Promise<string>((resolve) => {
  const stop = aliceTasks.watch(
    (task) => {
      if (task.status !== 'succeeded') return;
      stop();
      resolve(JSON.stringify(task.result));
    },
    { task: id },
  );
});
console.log(`task ${id} succeeded on alice's replica with ${done}`);

await Promise.all([aliceTasks.stop(), bobTasks.stop()]);
await Promise.all([alice.stop(), bob.stop()]);
