// Table shapes shared by SQLite and PostgreSQL. Times are ISO 8601 UTC strings (Date#toISOString),
// which sort and compare correctly as text on both; booleans are 0/1 integers on both.

export interface DevicesTable {
  id: string;
  token_hash: string;
  timezone: string;
  language: string;
  model: string | null;
  app_version: string | null;
  preferences: string; // JSON
  created_at: string;
  last_seen_at: string | null;
  last_level: number | null;
  last_observed_at: string | null; // newest battery/heartbeat observedAt processed
  alerted: string; // JSON number[]: thresholds already alerted in this discharge cycle
  silence_alerted: number;
  phone_number: string | null; // E.164
  phone_verified: number;
}

export interface EventsTable {
  device_id: string;
  event_id: string;
  kind: string;
  observed_at: string;
  answer: string; // JSON: the first answer, returned again for a repeated id
  created_at: string;
}

/** POST /v1/summaries: one row per (device, eventId), so a repeated id gets the first answer. */
export interface SummaryEventsTable {
  device_id: string;
  event_id: string;
  answer: string; // JSON: the first 202 body
  created_at: string;
}

export interface DeliveriesTable {
  id: string;
  device_id: string | null;
  channel: "sms" | "x";
  kind: string; // "low_battery" | "silence" | "verification" | later "activity" | "sleep"
  to_number: string | null;
  body: string;
  status: string; // queued | sending | sent | delivered | undelivered | failed | dead | cancelled (by the wearer's change or a newer alert; reason in error, never a dead letter)
  attempts: number;
  next_attempt_at: string;
  claimed_until: string | null;
  claimed_by: string | null;
  provider_id: string | null;
  error: string | null;
  event_id: string | null;
  created_at: string;
  sent_at: string | null;
  updated_at: string;
  /** 1 once an attempt may have reached the provider unseen (crash, timeout): look before resending */
  uncertain?: number;
}

export interface CodesTable {
  device_id: string;
  number: string;
  code_hash: string;
  expires_at: string;
  attempts: number;
  created_at: string;
}

export interface OptoutsTable {
  number: string;
  opted_out_at: string;
}

export interface RateEventsTable {
  key: string;
  at: string;
}

export interface CountersTable {
  name: string;
  count: number;
}

export interface OutboxMessagesTable {
  id: string;
  ref: string;
  to_number: string;
  body: string;
  created_at: string;
}

/** A linked X account; tokens are AES-256-GCM blobs (token-crypto) bound to the device id. */
export interface XAccountsTable {
  device_id: string;
  x_user_id: string;
  username: string;
  access_token: string;
  refresh_token: string | null;
  expires_at: string;
  status: string; // linked | expired
  created_at: string;
  updated_at: string;
}

/** A wearer's Google Health link; tokens encrypted (token-crypto.ts, AAD = device id). */
export interface GoogleAccountsTable {
  device_id: string;
  health_user_id: string;
  access_token: string;
  refresh_token: string | null;
  expires_at: string;
  scopes: string; // space-separated, as granted
  time_zone: string | null;
  distance_unit: string | null;
  status: string; // linked | broken
  broken_at: string | null;
  created_at: string;
  updated_at: string;
}

/** One Google linking attempt (as XLinkFlowsTable), plus where to send the wearer afterwards. */
export interface GoogleLinkFlowsTable {
  flow_hash: string;
  device_id: string;
  state_hash: string | null;
  verifier: string | null;
  return_to: string | null;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

/** One linking attempt: the flow id handed to the wearer, then the state and PKCE verifier (all short-lived). */
export interface XLinkFlowsTable {
  flow_hash: string; // sha256 of the flow id in the /x/start link
  device_id: string;
  state_hash: string | null; // sha256 of the OAuth state, once /x/start ran
  verifier: string | null; // PKCE verifier, encrypted
  return_to: string | null; // a path on the relay the result page leads back to (the web sign-up's "/")
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

/** One day's post of one kind: at most one row per (device, date, kind), ever (the tombstone). */
export interface SummariesTable {
  device_id: string;
  date: string;
  kind: string; // activity | sleep
  data: string; // JSON numbers, formatted into text at send time
  status: string; // queued | not_linked | off: the answer given
  due_at: string;
  delivery_id: string | null;
  created_at: string;
}

/** X_PROVIDER=outbox: the posts that would have gone out. */
/** processed Twilio webhooks (key: "in:<MessageSid>" or "st:<MessageSid>:<status>"), to refuse replays */
export interface WebhookReplaysTable {
  key: string;
  received_at: string;
}

export interface XOutboxPostsTable {
  id: string;
  device_id: string | null;
  text: string;
  created_at: string;
}

/** Cloud path schedule: one row per wearer and kind ("poll" | "summary"); due_at doubles as the claim lease. */
export interface CloudJobsTable {
  id: string; // "<kind>:<device_id>"
  device_id: string;
  kind: string;
  due_at: string;
  claimed_by: string | null;
  attempts: number;
  state: string; // JSON: poll {syncedAt, polledAt}; summary {date}
  updated_at: string;
}

export interface CloudFlagsTable {
  name: string;
  until_at: string;
}

export interface Database {
  cloud_jobs: CloudJobsTable;
  cloud_flags: CloudFlagsTable;
  x_accounts: XAccountsTable;
  x_link_flows: XLinkFlowsTable;
  google_accounts: GoogleAccountsTable;
  google_link_flows: GoogleLinkFlowsTable;
  summaries: SummariesTable;
  x_outbox_posts: XOutboxPostsTable;
  devices: DevicesTable;
  events: EventsTable;
  summary_events: SummaryEventsTable;
  deliveries: DeliveriesTable;
  codes: CodesTable;
  optouts: OptoutsTable;
  rate_events: RateEventsTable;
  counters: CountersTable;
  outbox_messages: OutboxMessagesTable;
  webhook_replays: WebhookReplaysTable;
}
