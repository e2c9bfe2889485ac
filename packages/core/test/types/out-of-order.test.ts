import { describe, expect, it } from 'vitest';
import {
  createHandle,
  HLC,
  ormap,
  orset,
  typeFromSpec,
  type MutationSink,
  type TypeSpec,
} from '../../src/index.ts';
import { decode, encode } from './harness.ts';

/** A replica whose emitted deltas are kept as wire bytes, for delivery in any order. */
function replica<S extends TypeSpec>(spec: S, id: string) {
  const type = typeFromSpec(spec);
  const state = type.empty();
  const out: Uint8Array[] = [];
  const sink: MutationSink<unknown> = {
    replica: id,
    hlc: new HLC(id),
    emit: (d) => {
      out.push(encode(type, d));
      type.join(state, d);
    },
  };
  const handle = createHandle(spec, state, sink);
  return { state, handle, out, apply: (bytes: Uint8Array) => type.join(state, decode(type, bytes)) };
}

describe('out-of-order deltas', () => {
  it("a remove's delta arriving before the add it observed leaves the element absent", () => {
    const a = replica(orset<string>(), 'a');
    const b = replica(orset<string>(), 'b');
    const c = replica(orset<string>(), 'c');
    a.handle.add('x');
    b.apply(a.out[0]!);
    b.handle.remove('x');
    c.apply(b.out[0]!); // the remove first
    expect(c.handle.has('x')).toBe(false);
    c.apply(a.out[0]!); // then the add it observed
    expect(c.handle.has('x')).toBe(false);
  });

  it('a remove arriving first does not suppress a concurrent add of the same element', () => {
    const a = replica(orset<string>(), 'a');
    const b = replica(orset<string>(), 'b');
    const c = replica(orset<string>(), 'c');
    a.handle.add('x');
    b.apply(a.out[0]!);
    b.handle.remove('x');
    a.handle.add('x'); // concurrent re-add: a fresh dot b has not seen
    c.apply(b.out[0]!);
    c.apply(a.out[1]!);
    c.apply(a.out[0]!);
    expect(c.handle.has('x')).toBe(true);
  });

  it('deltas across a gap in the dot sequence are all kept', () => {
    const a = replica(orset<string>(), 'a');
    const c = replica(orset<string>(), 'c');
    a.handle.add('p'); // a:1
    a.handle.add('q'); // a:2
    a.handle.add('r'); // a:3
    c.apply(a.out[2]!); // a:3 arrives first: a:2 must not read as seen-and-removed
    c.apply(a.out[0]!);
    expect(c.handle.values().sort()).toEqual(['p', 'r']);
    c.apply(a.out[1]!);
    expect(c.handle.values().sort()).toEqual(['p', 'q', 'r']);
  });

  it('an ORMap key deleted while another replica updates it keeps the update (update wins)', () => {
    const spec = ormap(orset<string>());
    const a = replica(spec, 'a');
    const b = replica(spec, 'b');
    a.handle.get('k').add('1');
    b.apply(a.out[0]!);
    b.handle.delete('k');
    a.handle.get('k').add('2');
    a.apply(b.out[0]!);
    b.apply(a.out[1]!);
    expect(a.handle.get('k').values()).toEqual(['2']);
    expect(b.handle.get('k').values()).toEqual(['2']);
  });
});
