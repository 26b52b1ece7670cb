// The live connection to /api/v1/live: one WebSocket per tab, reconnected with
// exponential backoff and jitter. Pages subscribe to typed events with `on`.
import { untrack } from 'svelte';
import { api, getApiKey } from './api.ts';
import { backoffDelay } from './backoff.ts';
import type { LiveEventMap, LiveEventType, LiveMessage } from './types.ts';

export type LiveStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'offline';

type Handler<K extends LiveEventType> = (data: LiveEventMap[K]) => void;
type AnyHandler = (msg: LiveMessage) => void;

const KNOWN_TYPES: ReadonlySet<string> = new Set<LiveEventType>([
  'ticket.opened',
  'ticket.updated',
  'alert.firing',
  'alert.resolved',
  'appliance.status',
  'chat.updated',
  'chat.message',
]);

export class LiveConnection {
  status: LiveStatus = $state('idle');
  /** Failed attempts since the last successful open. */
  attempt = $state(0);
  nextRetryAt: number | null = $state(null);
  lastMessageAt: number | null = $state(null);
  /** Bumped on every (re)connection so pages can refetch what they may have missed. */
  generation = $state(0);

  /**
   * Called when connections keep failing or the server closes for policy reasons:
   * the app checks the session there (a 401 sends the user to the login page).
   */
  verifyAuth: (() => void) | null = null;

  private socket: WebSocket | null = null;
  /** Numbers connection attempts, so a ticket arriving after stop() or a newer attempt is dropped. */
  private openSeq = 0;
  private opening = false;
  private retryTimer: number | null = null;
  private wanted = false;
  private handlers = new Map<LiveEventType, Set<(data: never) => void>>();
  private anyHandlers = new Set<AnyHandler>();

  constructor() {
    window.addEventListener('online', () => {
      if (this.wanted && this.status !== 'open') this.reconnectNow();
    });
    window.addEventListener('offline', () => {
      if (this.wanted) this.status = 'offline';
    });
  }

  // start/stop are called from effects: their reads of $state fields must not
  // become dependencies of the caller (or every retry would re-run the effect).
  start(): void {
    untrack(() => {
      this.wanted = true;
      if (!this.socket && !this.opening) this.open();
    });
  }

  stop(): void {
    untrack(() => this.shutdown());
  }

  private shutdown(): void {
    this.wanted = false;
    this.openSeq++;
    this.opening = false;
    this.clearTimer();
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.close(1000, 'logout');
    }
    this.status = 'idle';
    this.attempt = 0;
    this.nextRetryAt = null;
  }

  reconnectNow(): void {
    untrack(() => this.reopen());
  }

  private reopen(): void {
    if (!this.wanted) return;
    this.clearTimer();
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close();
      this.socket = null;
    }
    this.open();
  }

  on<K extends LiveEventType>(type: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    const h = handler as (data: never) => void;
    set.add(h);
    return () => set.delete(h);
  }

  onAny(handler: AnyHandler): () => void {
    this.anyHandlers.add(handler);
    return () => this.anyHandlers.delete(handler);
  }

  // The session cookie goes with the upgrade by itself; an API key never goes in the URL
  // (where logs keep it): it buys a one-use ticket that expires in 30 s instead.
  private async url(): Promise<string> {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const qs = getApiKey() ? `?ticket=${encodeURIComponent((await api.liveTicket()).ticket)}` : '';
    return `${proto}//${location.host}/api/v1/live${qs}`;
  }

  private open(): void {
    this.nextRetryAt = null;
    this.status = this.attempt === 0 ? 'connecting' : 'reconnecting';
    const seq = ++this.openSeq;
    this.opening = true;
    this.url().then(
      (url) => {
        // Stopped, or another attempt began, while the ticket was on its way.
        if (seq !== this.openSeq) return;
        this.opening = false;
        if (this.wanted && !this.socket) this.connect(url);
      },
      () => {
        if (seq !== this.openSeq) return;
        this.opening = false;
        if (this.wanted) this.scheduleRetry();
      },
    );
  }

  private connect(url: string): void {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.status = 'open';
      this.attempt = 0;
      this.generation++;
    };
    socket.onmessage = (ev: MessageEvent) => this.dispatch(ev.data);
    let opened = false;
    socket.addEventListener('open', () => (opened = true));
    socket.onclose = (ev: CloseEvent) => {
      this.socket = null;
      if (!this.wanted) return;
      // 1008 policy violation / 4401 (app-defined "unauthorized"), or a handshake that keeps failing.
      if (ev.code === 1008 || ev.code === 4401 || ev.code === 4403 || (!opened && this.attempt % 3 === 2)) {
        this.verifyAuth?.();
      }
      this.scheduleRetry();
    };
    // An error is always followed by a close; the retry is scheduled there.
    socket.onerror = () => {};
  }

  private scheduleRetry(): void {
    this.clearTimer();
    const delay = backoffDelay(this.attempt);
    this.attempt++;
    this.status = navigator.onLine === false ? 'offline' : 'reconnecting';
    this.nextRetryAt = Date.now() + delay;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      if (this.wanted) this.open();
    }, delay);
  }

  private clearTimer(): void {
    if (this.retryTimer !== null) {
      window.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private dispatch(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    const { type, data } = msg as { type?: unknown; data?: unknown };
    if (typeof type !== 'string' || !KNOWN_TYPES.has(type) || !data || typeof data !== 'object') return;
    this.lastMessageAt = Date.now();
    const typed = { type, data } as LiveMessage;
    for (const h of this.handlers.get(typed.type) ?? []) {
      try {
        h(typed.data as never);
      } catch (err) {
        console.error('live handler failed', err);
      }
    }
    for (const h of this.anyHandlers) h(typed);
  }
}

export const live = new LiveConnection();
