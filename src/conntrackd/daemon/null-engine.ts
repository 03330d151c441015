/**
 * An engine that does nothing and answers nothing: what the process shell
 * runs when there is no engine to run (its own tests), and what 1.4.7 does
 * for a request the mode does not know (an empty reply).
 */
import type { Engine } from './contract';

export const nullEngine: Engine = {
  start: () => Promise.resolve(),
  handle: () => Promise.resolve(),
  stop: () => Promise.resolve(),
};
