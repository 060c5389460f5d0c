/**
 * The ban feed: hosts (fail2ban, CrowdSec, a script) publish ban and unban messages to an SNS topic
 * the blocker consumes. Anybody with publish rights writes these, so every message is checked
 * strictly and a bad one is turned away with a reason, never allowed to fail the run. No AWS imports.
 */
// zod/mini, not the classic API: same checks, a smaller Lambda bundle (see bench/bundle.ts).
import * as z from 'zod/mini';
import { describeAddressProblem, readRange } from '#core/address-verdict';
import { readValueText } from '#core/value-space';
import { MAX_BAN_MINUTES, reasonProblem, type OperatorAction } from './actions';

/** Longest ban the feed may ask for: the same as the CLI's. */
export const MAX_FEED_DURATION_MINUTES = MAX_BAN_MINUTES;
const MAX_ADDRESS_LENGTH = 100;
const SOURCE_PATTERN = /^[A-Za-z0-9._@:/+-]{1,64}$/;
/** Attacker-controlled text quoted in a problem (unknown keys, message ids) is cut to this length. */
const QUOTE_LIMIT = 40;
/** A problem is one short line, whatever the message held. */
const PROBLEM_LIMIT = 300;

/** A feed message that was turned away, for one warning line: never the message text itself. */
export interface RejectedFeedMessage {
  /** What was wrong, e.g. `durationMinutes must be a whole number from 1 to 525600`. */
  readonly problem: string;
  /** The SNS message id (cut short), to find the message in the publisher's own logs. */
  readonly messageId: string;
  readonly topicArn: string;
}

/** What the parser needs to know of the deployment. */
export interface FeedDeployment {
  /**
   * Whether the stack has a neighbour tier (`blocker.neighbourAction` CHALLENGE or CAPTCHA): a ban
   * with `tier: "neighbour"` is refused without one.
   * @default false
   */
  readonly neighbourTier?: boolean;
}

/** What the feed records of one event asked for. */
export interface FeedBatch {
  /** Valid actions, in the order they were published. */
  readonly actions: OperatorAction[];
  readonly rejected: RejectedFeedMessage[];
}

/** Problems for a value that is there but wrong; a missing required key says so instead. */
const problem =
  (detail: string) =>
  (issue: { readonly input?: unknown }): string =>
    issue.input === undefined ? 'is required' : detail;

const ACTION_PROBLEM = 'must be "ban" or "unban"';
const ADDRESS_PROBLEM = `must be a non-empty string of at most ${MAX_ADDRESS_LENGTH} characters`;
const DURATION_PROBLEM = `must be a whole number from 1 to ${MAX_FEED_DURATION_MINUTES}`;
const REASON_PROBLEM = 'must be a string';
const SOURCE_PROBLEM = 'must be 1 to 64 characters of letters, digits and ._@:/+-';
/** The tiers a ban may name: the words of the CLI's `ban --tier`. */
const TIERS = ['block', 'neighbour'] as const;
const TIER_PROBLEM = 'must be "block" or "neighbour"';

/**
 * The tier refusal with what was sent, quoted as every echoed value is ({@link quote}), and a hint
 * for the near misses a publisher writes: capitals (`"Neighbour"`) and the American spelling.
 */
function tierProblem(issue: { readonly input?: unknown }): string {
  const { input } = issue;
  if (typeof input !== 'string') {
    const kind = input === null ? 'null' : Array.isArray(input) ? 'a list' : `a ${typeof input}`;
    return `${TIER_PROBLEM} (got ${kind})`;
  }
  const word = input.toLowerCase();
  const hint = (TIERS as readonly string[]).includes(word)
    ? `; did you mean "${word}"? Tiers are lower case`
    : /^neighbou?rs?$/.test(word)
      ? '; did you mean "neighbour"? The tier is spelt the British way, as `ban --tier` spells it'
      : '';
  return `${TIER_PROBLEM} (got "${quote(input)}")${hint}`;
}

// Strict: a misspelt key (`duration`, `ip`) must be turned away loudly, not make a ban that
// silently lasts the default time or bans nothing.
const feedMessage = z.strictObject({
  action: z.enum(['ban', 'unban'], { error: problem(ACTION_PROBLEM) }),
  address: z
    .string({ error: problem(ADDRESS_PROBLEM) })
    .check(z.minLength(1, ADDRESS_PROBLEM), z.maxLength(MAX_ADDRESS_LENGTH, ADDRESS_PROBLEM)),
  durationMinutes: z.optional(
    z
      .int({ error: DURATION_PROBLEM })
      .check(z.gte(1, DURATION_PROBLEM), z.lte(MAX_FEED_DURATION_MINUTES, DURATION_PROBLEM)),
  ),
  reason: z.optional(z.string({ error: REASON_PROBLEM })),
  source: z.string({ error: problem(SOURCE_PROBLEM) }).check(z.regex(SOURCE_PATTERN, SOURCE_PROBLEM)),
  tier: z.optional(z.enum(TIERS, { error: tierProblem })),
});

/**
 * Reads one feed message (the SNS `Message` text) into an action, or says what is wrong with it.
 * Never throws: every input, however malformed, gives one or the other.
 *
 * @param deployment - What the message is checked against: a `tier: "neighbour"` ban is refused,
 *   naming the address, when the stack has no neighbour tier. @default no neighbour tier
 */
export function parseFeedMessage(
  text: unknown,
  deployment: FeedDeployment = {},
): { action: OperatorAction } | { problem: string } {
  if (typeof text !== 'string') return { problem: 'no message text' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Which character broke the JSON would quote the garbage; "not JSON" is all the publisher needs.
    return { problem: 'not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problem: 'not a JSON object' };
  const trimmed = trimmedFields(parsed as Record<string, unknown>);
  if ('problem' in trimmed) return trimmed;
  const result = feedMessage.safeParse(trimmed.fields);
  if (!result.success) return { problem: describeIssues(result.error.issues) };
  const message = result.data;
  // The text is read here as config, CLI and blocker read it, so a bad address is turned away with
  // the same reason; allowlist and non-global space are the run's to judge.
  const reading = readRange(message.address);
  if (reading.problem !== undefined) {
    return { problem: `address "${quote(message.address)}" ${describeAddressProblem(reading)}` };
  }
  // One rule with the CLI's --reason: code points, no control or bidi characters.
  const badReason = message.reason === undefined ? undefined : reasonProblem(message.reason);
  if (badReason !== undefined) return { problem: `reason ${badReason}` };
  if (message.action === 'unban') {
    const problems = [
      ...(message.durationMinutes === undefined ? [] : ['durationMinutes is only allowed with action "ban"']),
      // An unban ends the range in every tier: a tier would say otherwise.
      ...(message.tier === undefined ? [] : ['tier is only allowed with action "ban" (an unban ends every tier)']),
    ];
    if (problems.length > 0) return { problem: problems.join('; ') };
    return {
      action: {
        action: 'unban',
        address: message.address,
        source: message.source,
        ...(message.reason !== undefined ? { reason: message.reason } : {}),
      },
    };
  }
  // Refused, not blocked instead: the publisher asked for less than a block, and a stack switched
  // back to BLOCK would otherwise block a carrier's whole range on its word.
  if (message.tier === 'neighbour' && deployment.neighbourTier !== true) {
    return {
      problem:
        `tier "neighbour" for address "${quote(message.address)}": this stack has no neighbour tier ` +
        '(blocker.neighbourAction is BLOCK); leave tier out to block the range',
    };
  }
  return {
    action: {
      action: 'ban',
      address: message.address,
      source: message.source,
      ...(message.durationMinutes !== undefined ? { durationMinutes: message.durationMinutes } : {}),
      ...(message.reason !== undefined ? { reason: message.reason } : {}),
      ...(message.tier === 'neighbour' ? { tier: message.tier } : {}),
    },
  };
}

/**
 * The message's text fields by the whitespace rule of every value (lambdas/core/value-space):
 * surrounding whitespace trimmed, another Unicode space refused naming the key. The address is
 * passed on as written: the address parser applies the same rule when the run reads it.
 */
function trimmedFields(
  fields: Record<string, unknown>,
): { readonly fields: Record<string, unknown> } | { readonly problem: string } {
  const copy = { ...fields };
  for (const key of ['action', 'reason', 'source', 'tier'] as const) {
    const value = copy[key];
    if (typeof value !== 'string') continue;
    const reading = readValueText(value);
    if ('problem' in reading) return { problem: `${key} "${quote(value)}" ${reading.problem}` };
    copy[key] = reading.value;
  }
  return { fields: copy };
}

/**
 * The feed messages among an SNS event's records: those whose topic is `feedTopicArn`. Records of
 * other topics (the alarm's) are left to their own readers. Never throws.
 *
 * @param deployment - What each message is checked against (see {@link parseFeedMessage}).
 */
export function parseFeed(event: unknown, feedTopicArn: string, deployment: FeedDeployment = {}): FeedBatch {
  const actions: OperatorAction[] = [];
  const rejected: RejectedFeedMessage[] = [];
  for (const sns of feedRecords(event, feedTopicArn)) {
    const outcome = parseFeedMessage(sns.Message, deployment);
    if ('action' in outcome) {
      actions.push(outcome.action);
    } else {
      rejected.push({ problem: outcome.problem, messageId: quote(sns.MessageId), topicArn: feedTopicArn });
    }
  }
  return { actions, rejected };
}

/** The `Sns` part of each record published to `feedTopicArn`, without trusting the event's shape. */
function feedRecords(
  event: unknown,
  feedTopicArn: string,
): { readonly Message?: unknown; readonly MessageId?: unknown }[] {
  const records = (event as { Records?: unknown } | null | undefined)?.Records;
  if (!Array.isArray(records)) return [];
  return (records as unknown[]).flatMap((record) => {
    const sns = (record as { Sns?: unknown } | null | undefined)?.Sns;
    if (typeof sns !== 'object' || sns === null) return [];
    const fields = sns as { TopicArn?: unknown; Message?: unknown; MessageId?: unknown };
    return fields.TopicArn === feedTopicArn ? [fields] : [];
  });
}

type Issue = z.core.$ZodIssue;

/** One line naming every key that is wrong, e.g. `durationMinutes must be ...; unknown key "duration"`. */
function describeIssues(issues: readonly Issue[]): string {
  const lines = issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const shown = issue.keys.slice(0, 3).map((key) => `"${quote(key)}"`);
      const more = issue.keys.length > 3 ? ` and ${issue.keys.length - 3} more` : '';
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${shown.join(', ')}${more}`;
    }
    // Every path here is one known top-level key: unknown ones are reported above.
    const key = issue.path.map(String).join('.');
    return key === '' ? issue.message : `${key} ${issue.message}`;
  });
  const text = [...new Set(lines)].join('; ');
  return text.length > PROBLEM_LIMIT ? `${text.slice(0, PROBLEM_LIMIT - 1)}…` : text;
}

/** Publisher-controlled text, cut short and printable, for a log line. */
function quote(value: unknown): string {
  if (typeof value !== 'string') return '';
  // JSON.stringify escapes control characters; the outer quotes are dropped.
  const printable = JSON.stringify(value.slice(0, QUOTE_LIMIT)).slice(1, -1);
  return value.length > QUOTE_LIMIT ? `${printable}…` : printable;
}
