// Chat with support (issue 21): the API calls and one conversation's state in the browser.
import type { LiveChat, LiveChatMessage } from '../../../server/live/events.ts';
import { request } from './api.ts';
import { live } from './live.svelte.ts';

export type Chat = LiveChat;
export type ChatMessage = Omit<LiveChatMessage, 'customerId'>;
type Page<T> = { items: T[]; nextCursor?: string };

/** The /api/v1/chats routes (docs/api.md, "Chat"). */
export const chatApi = {
  list: (status?: 'waiting' | 'active' | 'closed') => request<Page<Chat>>('GET', '/chats', { query: { status } }),
  start: (body: { ticketId?: string; message?: string }) => request<Chat>('POST', '/chats', { body }),
  messages: (id: string, after?: string) => request<Page<ChatMessage>>('GET', `/chats/${id}/messages`, { query: { after } }),
  send: (id: string, body: string) => request<ChatMessage>('POST', `/chats/${id}/messages`, { body: { body } }),
  accept: (id: string) => request<Chat>('POST', `/chats/${id}/accept`),
  close: (id: string) => request<Chat>('POST', `/chats/${id}/close`),
};

/**
 * One chat's conversation: its history, then the messages that arrive live. The history
 * cursor moves only with fetched pages (which are contiguous from it), never with a live
 * message, so after a reconnect the fetch from the cursor covers whatever the socket missed;
 * what arrives twice is recognised by id and shown once.
 */
export class ChatThread {
  chat: Chat = $state() as Chat;
  messages: ChatMessage[] = $state([]);
  error: unknown = $state(null);
  private cursor: string | undefined;
  private seen = new Set<string>();
  private fetching: Promise<void> | null = null;

  constructor(chat: Chat) {
    this.chat = chat;
  }

  private add(items: ChatMessage[]): void {
    const fresh = items.filter((m) => !this.seen.has(m.id));
    if (fresh.length === 0) return;
    for (const m of fresh) this.seen.add(m.id);
    // Stable sort by time: a catch-up page may land after a newer live message.
    this.messages = [...this.messages, ...fresh].sort((a, b) => a.at.localeCompare(b.at));
  }

  /** Fetches every message after the cursor (all of them the first time). */
  catchUp(): Promise<void> {
    this.fetching ??= (async () => {
      try {
        for (;;) {
          const page = await chatApi.messages(this.chat.id, this.cursor);
          this.add(page.items);
          const last = page.items.at(-1);
          if (last) this.cursor = last.cursor;
          if (!page.nextCursor) break;
        }
        this.error = null;
      } catch (err) {
        this.error = err;
      } finally {
        this.fetching = null;
      }
    })();
    return this.fetching;
  }

  /** Subscribes to this chat's live events; returns the unsubscribe. */
  listen(): () => void {
    const offs = [
      live.on('chat.message', (m) => {
        if (m.chatId === this.chat.id) this.add([m]);
      }),
      live.on('chat.updated', (c) => {
        if (c.id === this.chat.id) this.chat = c;
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  async send(body: string): Promise<void> {
    this.add([await chatApi.send(this.chat.id, body)]);
  }

  async close(): Promise<void> {
    this.chat = await chatApi.close(this.chat.id);
  }
}
