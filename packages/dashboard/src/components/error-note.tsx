import type { JSX } from 'preact';
import { ApiFailure } from '../api/client.ts';

/** An API failure as the page shows it: status, code and the API's message. */
export function ErrorNote({ error }: { error: unknown }): JSX.Element | null {
  if (error === undefined || error === null) return null;
  if (error instanceof ApiFailure) {
    const hint = error.status === 401 ? ' (enter the API key above)' : '';
    return (
      <p class="error" role="alert" data-status={error.status}>
        {`${error.status} ${error.code}: ${error.message}${hint}`}
      </p>
    );
  }
  return (
    <p class="error" role="alert">
      {error instanceof Error ? error.message : JSON.stringify(error)}
    </p>
  );
}
