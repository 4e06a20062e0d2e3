import { CodedError } from '../util/coded-error.js';
import type { Backend } from './backend.js';

export interface PlacementResult {
  backends: Backend[];
  /** True when two shards of the chunk share a node (fewer up nodes than shards). */
  sharedNode: boolean;
}

/** Fewer backends up than the shards of a chunk need. */
export class PlacementError extends CodedError<'INSUFFICIENT_BACKENDS'> {
  constructor(message: string) {
    super('INSUFFICIENT_BACKENDS', message);
  }
}

/**
 * Chooses `count` distinct up backends for the shards of one chunk: each pick goes to the
 * farm, then the node, holding the fewest shards of this chunk so far, and among equals to a
 * backend drawn with probability proportional to its free space. So shards spread over
 * farms first, then nodes, and two share a node only when there are fewer nodes than shards.
 */
export function placeShards(
  all: readonly Backend[],
  count: number,
  exclude: ReadonlySet<string> = new Set(),
  random = Math.random,
): PlacementResult {
  const candidates = all.filter((b) => b.state === 'up' && !exclude.has(b.id));
  if (candidates.length < count) throw new PlacementError(`need ${count} backends up, ${candidates.length} available`);
  const perFarm = new Map<string, number>();
  const perNode = new Map<string, number>();
  const chosen: Backend[] = [];
  const left = new Set(candidates);
  let sharedNode = false;
  for (let i = 0; i < count; i++) {
    let best: Backend[] = [];
    let bestScore = Infinity;
    for (const b of left) {
      const score = (perFarm.get(b.farm) ?? 0) * 1e6 + (perNode.get(nodeKey(b)) ?? 0);
      if (score < bestScore) {
        bestScore = score;
        best = [b];
      } else if (score === bestScore) {
        best.push(b);
      }
    }
    const pick = weightedPick(best, random);
    if ((perNode.get(nodeKey(pick)) ?? 0) > 0) sharedNode = true;
    perFarm.set(pick.farm, (perFarm.get(pick.farm) ?? 0) + 1);
    perNode.set(nodeKey(pick), (perNode.get(nodeKey(pick)) ?? 0) + 1);
    left.delete(pick);
    chosen.push(pick);
  }
  return { backends: chosen, sharedNode };
}

/**
 * As placeShards, but settles for fewer shards when fewer than `count` backends are up: as many
 * as there are, provided that is at least `minimum` (a degraded write's quorum). Never two
 * shards of a chunk on one backend.
 */
export function placeAtLeast(
  all: readonly Backend[],
  count: number,
  minimum: number,
  exclude: ReadonlySet<string> = new Set(),
  random = Math.random,
): PlacementResult {
  const up = all.filter((b) => b.state === 'up' && !exclude.has(b.id)).length;
  if (up < minimum) throw new PlacementError(`need ${minimum} backends up, ${up} available`);
  return placeShards(all, Math.min(count, up), exclude, random);
}

/** One more up backend outside `exclude`, chosen as placeShards would; undefined when there is none. */
export function spareBackend(
  all: readonly Backend[],
  exclude: ReadonlySet<string>,
  random = Math.random,
): Backend | undefined {
  if (!all.some((b) => b.state === 'up' && !exclude.has(b.id))) return undefined;
  return placeShards(all, 1, exclude, random).backends[0];
}

function nodeKey(b: Backend): string {
  return `${b.farm}\u0000${b.node}`;
}

function weightedPick(list: Backend[], random: () => number): Backend {
  // Until every candidate's free space is known (0 = unknown), draw them evenly.
  const known = list.every((b) => b.freeBytes > 0);
  const weights = list.map((b) => (known ? b.freeBytes : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < list.length; i++) {
    r -= weights[i]!;
    if (r < 0) return list[i]!;
  }
  return list[list.length - 1]!;
}

/** Whether the backends can give `count` shards of a chunk distinct nodes (for status). */
export function distinctNodes(all: readonly Backend[]): number {
  return new Set(all.filter((b) => b.state === 'up').map(nodeKey)).size;
}
