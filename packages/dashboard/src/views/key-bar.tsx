import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

export interface KeyBarProps {
  hasKey: boolean;
  onKey: (key: string) => void;
}

/** Where the API key is entered: actions (and reads, where the daemon wants it) send it. */
export function KeyBar({ hasKey, onKey }: KeyBarProps): JSX.Element {
  const [draft, setDraft] = useState('');
  return (
    <form
      class="keybar"
      onSubmit={(e) => {
        e.preventDefault();
        onKey(draft.trim());
        setDraft('');
      }}
    >
      <input
        name="api-key"
        type="password"
        autocomplete="off"
        placeholder={hasKey ? 'API key set (kept for this tab)' : 'API key (needed for actions)'}
        value={draft}
        onInput={(e) => setDraft(e.currentTarget.value)}
      />
      <button type="submit" id="save-key">
        Use key
      </button>
      {hasKey && (
        <button type="button" onClick={() => onKey('')}>
          Forget key
        </button>
      )}
    </form>
  );
}
