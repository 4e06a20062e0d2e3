/**
 * Test hosts of our own: a network namespace per node, joined to this machine by a veth pair
 * (host side 10.234.<i>.1, node side 10.234.<i>.2, a /30 each), so a test can cut one node's
 * link and heal it. Made and removed by the test itself; needs root and iproute2.
 */
import { execFileSync } from 'node:child_process';

export interface TestHost {
  /** The namespace's name, for `ip netns exec`. */
  name: string;
  /** The node's address (inside its namespace). */
  address: string;
  /** This machine's address on the node's link. */
  hostAddress: string;
  /** Drops the link: the node can neither be reached nor reach anything. */
  cut(): void;
  heal(): void;
  remove(): void;
}

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function canMakeTestHosts(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function makeTestHost(i: number): TestHost {
  const tag = `${process.pid % 10000}${i}`;
  const name = `qn${tag}`;
  const [host, peer] = [`qh${tag}`, `qp${tag}`];
  const [hostAddress, address] = [`10.234.${i}.1`, `10.234.${i}.2`];
  ip('netns', 'add', name);
  ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
  ip('link', 'set', peer, 'netns', name);
  ip('addr', 'add', `${hostAddress}/30`, 'dev', host);
  ip('link', 'set', host, 'up');
  ip('netns', 'exec', name, 'ip', 'addr', 'add', `${address}/30`, 'dev', peer);
  ip('netns', 'exec', name, 'ip', 'link', 'set', peer, 'up');
  ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  ip('netns', 'exec', name, 'ip', 'route', 'add', 'default', 'via', hostAddress);
  return {
    name,
    address,
    hostAddress,
    cut: () => ip('link', 'set', host, 'down'),
    heal: () => ip('link', 'set', host, 'up'),
    remove: () => {
      for (const args of [
        ['link', 'del', host],
        ['netns', 'del', name],
      ]) {
        try {
          ip(...args);
        } catch {
          /* already gone */
        }
      }
    },
  };
}
