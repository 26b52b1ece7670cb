import type { NotificationEvent } from './planner.ts';

/** The timeline entry a lifecycle action wrote (the fields this module reads). */
export interface ActionTimelineEntry {
  at: Date;
  actorId: string | null;
  type: string;
  body: string | null;
  reason: string | null;
  public: boolean;
  data: Record<string, unknown>;
}

/**
 * Which notification a lifecycle action causes, from the timeline entry it wrote (SPEC §8):
 * a public message from support (a comment, or an acknowledgement with a message) →
 * `engineer.message`; a request for information, a proposed resolution, a closing (with the
 * survey link) and a remote-access request → their own kinds for the customer; an
 * assignment → the new assignee; anything public the customer writes (reply, comment,
 * rejection, reopening) → `customer.replied`. Internal notes and the rest tell nobody.
 */
export function actionNotification(entry: ActionTimelineEntry, staff: boolean, actorName: string, surveyUrl: string | null): NotificationEvent | null {
  const base = { at: entry.at, actorId: entry.actorId, actorName };
  if (!staff) {
    if (entry.type === 'customer_reply' || entry.type === 'comment') return { ...base, kind: 'customer.replied', body: entry.body };
    if (entry.type === 'resolution_rejected' || entry.type === 'reopened') return { ...base, kind: 'customer.replied', body: entry.reason };
    if (entry.type === 'closed') return { ...base, kind: 'ticket.closed', body: null, surveyUrl, actorId: null };
    return null;
  }
  switch (entry.type) {
    case 'comment':
      return entry.public ? { ...base, kind: 'engineer.message', body: entry.body } : null;
    case 'acknowledged':
      return entry.body ? { ...base, kind: 'engineer.message', body: entry.body } : null;
    case 'info_requested':
      return { ...base, kind: 'info.requested', body: entry.body };
    case 'resolved':
      return { ...base, kind: 'resolution.proposed', body: entry.body };
    case 'closed':
      return { ...base, kind: 'ticket.closed', body: entry.body, surveyUrl };
    case 'remote_access_requested':
      return { ...base, kind: 'remote_access.requested', reason: entry.reason };
    case 'assigned':
    case 'reassigned':
      return { ...base, kind: 'assigned', reason: entry.reason, assigneeId: typeof entry.data.toAssigneeId === 'string' ? entry.data.toAssigneeId : null };
    default:
      return null;
  }
}
