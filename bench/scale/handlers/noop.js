/** The scale mesh's no-op task: a module-executor handler that does nothing and returns null. */
export default function noop() {
  return null;
}
