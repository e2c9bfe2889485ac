import type { JSX } from 'preact';
import type { MemberView, MemoryDocument, MemoryDocuments } from '../api/types.ts';
import { ErrorNote } from '../components/error-note.tsx';
import { href, useLive, usePolled } from '../state/hooks.ts';
import { useDashboard } from './context.ts';

const path = (...segments: string[]): string => `/v1/memory/${segments.map(encodeURIComponent).join('/')}`;

/** Shared Documents: the documents, a document's members, a member's merged value. */
export function MemoryView({
  document,
  member,
}: {
  document: string | undefined;
  member: string | undefined;
}): JSX.Element {
  const { client, store } = useDashboard();
  const { memoryChanges } = useLive(store);
  const docs = usePolled<MemoryDocuments>(client, '/v1/memory?limit=1000', 10_000, memoryChanges);
  const members = usePolled<MemoryDocument>(
    client,
    document === undefined ? null : `${path(document)}?limit=1000`,
    10_000,
    memoryChanges,
  );
  const value = usePolled<MemberView>(
    client,
    document === undefined || member === undefined ? null : path(document, member),
    10_000,
    memoryChanges,
  );
  return (
    <section>
      <h2>Shared memory</h2>
      <div class="columns three">
        <div>
          <h3>Documents</h3>
          <ErrorNote error={docs.error} />
          <ul class="docs">
            {docs.data?.documents.length === 0 && <li class="muted">No documents.</li>}
            {docs.data?.documents.map((d) => (
              <li key={d.name} class={d.name === document ? 'selected' : ''}>
                <a href={href('memory', d.name)}>{d.name}</a> <span class="muted">{d.members} members</span>
              </li>
            ))}
          </ul>
        </div>
        <div>
          <h3>Members</h3>
          <ErrorNote error={members.error} />
          {document === undefined && <p class="muted">Pick a document.</p>}
          <ul class="members">
            {document !== undefined &&
              members.data?.members.map((m) => (
                <li key={m.name} class={m.name === member ? 'selected' : ''}>
                  <a href={href('memory', document, m.name)}>{m.name}</a> <span class="muted">{m.type}</span>
                  {m.conflicts.length > 0 && (
                    <span class="badge status-failed">conflict: {m.conflicts.join(', ')}</span>
                  )}
                </li>
              ))}
          </ul>
        </div>
        <div>
          <h3>Value</h3>
          <ErrorNote error={value.error} />
          {value.data !== undefined && member !== undefined && (
            <pre id="member-value">{JSON.stringify(value.data, null, 2)}</pre>
          )}
        </div>
      </div>
    </section>
  );
}
