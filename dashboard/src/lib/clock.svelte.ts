// A shared "now" that ticks once a second while some component reads it.
import { createSubscriber } from 'svelte/reactivity';

class Clock {
  #subscribe = createSubscriber((update) => {
    const id = window.setInterval(update, 1_000);
    return () => window.clearInterval(id);
  });

  get now(): number {
    this.#subscribe();
    return Date.now();
  }
}

export const clock = new Clock();
