import { describe, expect, it } from 'vitest';
import { ConfigError, joinMesh } from '../src/index.ts';

describe('joinMesh', () => {
  it('refuses a swarm key that is neither a key file nor 64 hex digits, naming the option', async () => {
    const refused = joinMesh({ bootstrap: [], swarmKey: 'not-a-key' });
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow('swarmKey: not a swarm key file nor 64 hex digits');
  });
});
