import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Task } from '../api/types.ts';
import { ErrorNote } from '../components/error-note.tsx';
import { href } from '../state/hooks.ts';
import { useDashboard } from './context.ts';

const EXAMPLE_INPUT = '{ "executor": "shell", "argv": ["echo", "hello from the dashboard"] }';

/** `POST /v1/tasks` from a form: the input as JSON, extra capabilities, priority. */
export function SubmitTask(): JSX.Element {
  const { client } = useDashboard();
  const [input, setInput] = useState(EXAMPLE_INPUT);
  const [needs, setNeeds] = useState('');
  const [priority, setPriority] = useState('0');
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<Task | undefined>(undefined);

  const submit = async (): Promise<void> => {
    setError(undefined);
    setCreated(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      setError(new Error('input: not valid JSON'));
      return;
    }
    try {
      const body = {
        input: parsed,
        needs: needs
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
        priority: Number(priority),
      };
      setCreated(await client.post<Task>('/v1/tasks', body));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <form
      class="panel"
      id="submit-task"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3>Submit a task</h3>
      <label>
        Input (JSON)
        <textarea name="input" rows={3} value={input} onInput={(e) => setInput(e.currentTarget.value)} />
      </label>
      <div class="row">
        <label>
          Needs (comma-separated)
          <input name="needs" value={needs} onInput={(e) => setNeeds(e.currentTarget.value)} />
        </label>
        <label>
          Priority
          <input
            name="priority"
            type="number"
            value={priority}
            onInput={(e) => setPriority(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Submit</button>
      </div>
      <ErrorNote error={error} />
      {created !== undefined && (
        <p class="ok">
          Submitted <a href={href('tasks', created.id)}>{created.id}</a>
        </p>
      )}
    </form>
  );
}
