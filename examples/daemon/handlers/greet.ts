import type { Value } from '@meshwork/core';

/** A module-executor handler: gets the task input and a context, returns plain data. */
export default function greet(input: Value, ctx: { epoch: number; progress(data: Value): void }): Value {
  const name = typeof input === 'string' ? input : 'world';
  ctx.progress({ greeting: name });
  return { greeting: `hello, ${name}`, epoch: ctx.epoch };
}
