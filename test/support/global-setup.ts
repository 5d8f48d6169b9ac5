// Runs once before the integration project: fail the whole run at once, with the fix, when
// there is no Docker engine (these tests never skip).
import { assertDockerAvailable, dockerClient } from './docker.js';

export default async function setup(): Promise<void> {
  await assertDockerAvailable(dockerClient());
}
