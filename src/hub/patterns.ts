// Pattern subscriptions: live delivery of every channel matching an MQTT-style filter (`+` one
// level, `#` the rest). A filter spans many streams, so there is no history, recovery or gap signal:
// it is for doors whose own protocol has none to offer (MQTT). Presence events are not delivered.
import { HeraldError, toHeraldError } from '../errors.js';
import {
  type Engine,
  type FrameFormat,
  filterProblem,
  type Logger,
  matchesFilter,
  type Publication,
  type Subscriber,
} from '../model/index.js';
import { leaveGroup } from './groups.js';

/** Subscribers of one filter, grouped by wire format like a channel's. */
interface PatternState {
  readonly filter: string;
  readonly groups: Map<FrameFormat, Set<Subscriber>>;
  size: number;
  ready: Promise<void>;
}

export interface PatternRegistryDeps {
  engine: Engine;
  maxChannelNameLength: number;
  countChanged(delta: number): void;
  log?: Logger;
}

export class PatternRegistry {
  private readonly patterns = new Map<string, PatternState>();

  constructor(private readonly deps: PatternRegistryDeps) {}

  get size(): number {
    return this.patterns.size;
  }

  async subscribe(filter: string, subscriber: Subscriber): Promise<void> {
    const problem = filterProblem(filter, this.deps.maxChannelNameLength);
    if (problem) throw new HeraldError('BAD_REQUEST', problem);
    const engine = this.deps.engine;
    if (!engine.subscribePatterns) {
      throw new HeraldError('NOT_AVAILABLE', `engine "${engine.name}" has no pattern subscriptions`);
    }
    let state = this.patterns.get(filter);
    if (!state) {
      const created: PatternState = { filter, groups: new Map(), size: 0, ready: Promise.resolve() };
      created.ready = engine.subscribePatterns([filter]).catch((err) => {
        if (this.patterns.get(filter) === created) this.patterns.delete(filter);
        throw err;
      });
      created.ready.catch(() => {});
      state = created;
      this.patterns.set(filter, state);
    }
    let group = state.groups.get(subscriber.format as FrameFormat);
    if (group?.has(subscriber)) throw new HeraldError('ALREADY_SUBSCRIBED', filter);
    if (!group) {
      group = new Set();
      state.groups.set(subscriber.format as FrameFormat, group);
    }
    group.add(subscriber);
    state.size++;
    this.deps.countChanged(1);
    try {
      await state.ready;
    } catch (err) {
      this.detach(state, subscriber); // by object: a failed state is no longer in the map
      this.deps.log?.warn({ err, filter }, 'pattern subscribe failed in the engine');
      throw toHeraldError(err, 'ENGINE_UNAVAILABLE');
    }
  }

  unsubscribe(filter: string, subscriber: Subscriber): boolean {
    const state = this.patterns.get(filter);
    return state ? this.detach(state, subscriber) : false;
  }

  private detach(state: PatternState, subscriber: Subscriber): boolean {
    if (!leaveGroup(state.groups, subscriber)) return false;
    state.size--;
    this.deps.countChanged(-1);
    if (state.size === 0 && this.patterns.get(state.filter) === state) {
      this.patterns.delete(state.filter);
      this.deps.engine
        .unsubscribePatterns?.([state.filter])
        .catch((err) =>
          this.deps.log?.warn({ err, filter: state.filter }, 'engine pattern unsubscribe failed'),
        );
    }
    return true;
  }

  /**
   * Delivers to pattern subscribers whose filter matches, one encode per format across all of them.
   * (A format used both by a channel's subscribers and by patterns is encoded once for each side;
   * in practice only the MQTT bridge subscribes by pattern, with a format of its own.)
   */
  dispatch(pub: Publication): void {
    let frames: Map<FrameFormat, unknown> | undefined;
    for (const pattern of this.patterns.values()) {
      if (!matchesFilter(pattern.filter, pub.channel)) continue;
      for (const [format, group] of pattern.groups) {
        frames ??= new Map();
        let frame = frames.get(format);
        if (frame === undefined && !frames.has(format)) {
          try {
            frame = format.encode(pub);
          } catch (err) {
            this.deps.log?.error(
              { err, channel: pub.channel, format: format.name },
              'a publication could not be encoded',
            );
            continue;
          }
          frames.set(format, frame);
        }
        for (const subscriber of group) {
          try {
            subscriber.deliver(pub, frame);
          } catch (err) {
            this.deps.log?.error(
              { err, channel: pub.channel, filter: pattern.filter },
              'pattern subscriber failed',
            );
          }
        }
      }
    }
  }
}
