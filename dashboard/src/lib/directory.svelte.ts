// Names for ids shown all over the dashboard (customers, users), loaded once per session.
import { api } from './api.ts';
import { session } from './session.svelte.ts';
import type { Customer, User } from './types.ts';

class Directory {
  customers: Customer[] = $state([]);
  users: User[] = $state([]);
  /** False when the server refused the user list (non-admins): show ids instead. */
  usersAvailable = $state(false);
  private customersLoaded: Promise<void> | null = null;
  private usersLoaded: Promise<void> | null = null;

  customerById = $derived(new Map(this.customers.map((c) => [c.id, c])));
  userById = $derived(new Map(this.users.map((u) => [u.id, u])));
  engineers = $derived(this.users.filter((u) => u.role === 'engineer' || u.role === 'admin'));

  loadCustomers(force = false): Promise<void> {
    if (!this.customersLoaded || force) {
      this.customersLoaded = api
        .customers()
        .then((r) => {
          this.customers = r.items.toSorted((a, b) => a.name.localeCompare(b.name));
        })
        .catch(() => {
          this.customersLoaded = null;
        });
    }
    return this.customersLoaded;
  }

  /** `reload`: after an admin edited a user. */
  loadUsers(reload = false): Promise<void> {
    // The user directory is an admin resource; other roles see ids (and the ticket's assignee picker).
    if (!session.isAdmin) {
      this.usersAvailable = false;
      return Promise.resolve();
    }
    if (!this.usersLoaded || reload) {
      this.usersLoaded = api
        .users()
        .then((r) => {
          this.users = r.items;
          this.usersAvailable = true;
        })
        .catch(() => {
          this.usersAvailable = false;
        });
    }
    return this.usersLoaded;
  }

  customerName(id: string | null | undefined): string {
    if (!id) return '—';
    return this.customerById.get(id)?.name ?? id;
  }

  userName(id: string | null | undefined): string {
    if (!id) return '—';
    const u = this.userById.get(id);
    return u ? u.name || u.email : id;
  }

  reset(): void {
    this.customers = [];
    this.users = [];
    this.usersAvailable = false;
    this.customersLoaded = null;
    this.usersLoaded = null;
  }
}

export const directory = new Directory();
