/**
 * Child process of the core suite: heap bytes per OR-set element for one system.
 * Run with --expose-gc: `node --expose-gc bench/core/heap.ts <system> <n>`; prints a number.
 * A fresh process per system keeps one library's heap and WebAssembly memory out of another's figure.
 */
import { systems } from './systems.ts';

const [name, count] = process.argv.slice(2);
const system = systems.find((s) => s.name === name);
const n = Number(count);
const gc = globalThis.gc;
if (system === undefined || !Number.isSafeInteger(n) || n <= 0 || gc === undefined) {
  console.error('usage: node --expose-gc bench/core/heap.ts <meshwork|yjs|automerge|loro> <n>');
  process.exit(2);
}

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  // `external` includes array buffers, where WebAssembly memory (Automerge, Loro) lives.
  return m.heapUsed + m.external;
}

// Warm the library up in a throwaway replica so code and caches are not counted.
const warm = system.replica(9999, false);
for (let i = 0; i < 1000; i++) warm.add(`warm-${i}`);

const before = used();
const replica = system.replica(0, false);
for (let i = 0; i < n; i++) replica.add(`item-${i}`);
const after = used();
// Keep the replica reachable until measured.
if (replica.stateBytes() < 0) console.error('unreachable');
console.log(String((after - before) / n));
