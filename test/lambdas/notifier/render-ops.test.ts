/**
 * Ops messages of the health alarms: a golden ALARM and OK message per kind, the last error quoted
 * escaped and cut, and every message within Telegram's limits whatever the alarm carries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LAST_ERROR_SHOWN, renderHealth } from '#notifier/render-ops';
import type { HealthNotice, OpsDetails } from '#notifier/types';
import { HEALTH_ALARM_KINDS, type HealthAlarmKind } from '#contracts/health';
import { visibleText } from '../../support/telegram-server';
import { expectSendable } from './harness';
import {
  BLOCKER_LOG_GROUP,
  DEAD_LETTER_QUEUE_URL,
  HEALTH_CHANGED_AT,
  healthNotice,
  hostileText,
  MINUTE,
} from './fixtures';

const DETAILS: OpsDetails = { blockerLogGroup: BLOCKER_LOG_GROUP, deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL };
const LAST_ERROR =
  'WriteError: could not write IP set WafAutoblock-blocklist-ipv4: 1 write(s) failed: WAFOptimisticLockException';

/** The details run.ts gathers: the last error for the two blocker-failure kinds in ALARM only. */
function detailsFor(health: HealthAlarmKind): OpsDetails {
  return health === 'blocker-failed' || health === 'blocker-failing'
    ? { ...DETAILS, lastError: { ok: true, value: { at: HEALTH_CHANGED_AT - MINUTE, error: LAST_ERROR } } }
    : DETAILS;
}

/** The notice as CloudWatch sends it for an alarm without a single metric (metric math). */
function withoutTrigger(notice: HealthNotice): HealthNotice {
  const { kind, alarmName, newState, oldState, reason, changedAt } = notice.alarm;
  return { ...notice, alarm: { kind, alarmName, newState, oldState, reason, changedAt } };
}

const GOLDEN: Readonly<Record<HealthAlarmKind, { readonly alarm: string; readonly ok: string }>> = {
  'blocker-failed': {
    alarm: `⚠️ <b>waf-autoblock is unhealthy:</b> a blocker run failed in the last 5 min
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-failed</code>
Attackers the failed run saw may not be blocked until a run succeeds.
<b>Last error:</b> <code>WriteError: could not write IP set WafAutoblock-blocklist-ipv4: 1 write(s) failed: WAFOptimisticLockException</code> at 2025-03-14 02:09 UTC

<b>What to check:</b> the last error; the blocker's log group <code>WafAutoblock-BlockerLogs-4D5E6F</code> (or run <code>waf-autoblock status</code>); the role's permissions (a removed or changed policy); the ledger table (deleted, or throttled); the IP sets (deleted or changed by hand).
<i>Threshold Crossed: 1 out of the last 1 datapoints were greater than or equal to the threshold (1.0).</i>`,
    ok: `✅ <b>waf-autoblock is healthy again:</b> the blocker runs without errors
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-failed</code>
<i>Threshold Crossed: 1 out of the last 1 datapoints were not greater than or equal to the threshold (1.0).</i>`,
  },
  'blocker-failing': {
    alarm: `⚠️ <b>waf-autoblock is unhealthy:</b> the blocker has failed 3 runs in a row
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-failing</code>
Until a run succeeds, no new attacker is blocked and no block expires.
<b>Last error:</b> <code>WriteError: could not write IP set WafAutoblock-blocklist-ipv4: 1 write(s) failed: WAFOptimisticLockException</code> at 2025-03-14 02:09 UTC

<b>What to check:</b> the last error; the blocker's log group <code>WafAutoblock-BlockerLogs-4D5E6F</code> (or run <code>waf-autoblock status</code>); the role's permissions (a removed or changed policy); the ledger table (deleted, or throttled); the IP sets (deleted or changed by hand).
<i>Threshold Crossed: 3 out of the last 3 datapoints were greater than or equal to the threshold (1.0).</i>`,
    ok: `✅ <b>waf-autoblock is healthy again:</b> the blocker runs without errors
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-failing</code>
<i>Threshold Crossed: 3 out of the last 3 datapoints were not greater than or equal to the threshold (1.0).</i>`,
  },
  'blocker-stopped': {
    alarm: `⚠️ <b>waf-autoblock is unhealthy:</b> the blocker has not been invoked for 15 min
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-stopped</code>
Until it runs, no new attacker is blocked and no block expires.

<b>What to check:</b> the EventBridge schedule rule is enabled; the blocker function exists and its reserved concurrency (<code>blocker.reservedConcurrency</code>) is not 0 (throttled invocations do not count).
<i>Threshold Crossed: 3 out of the last 3 datapoints were greater than or equal to the threshold (1.0).</i>`,
    ok: `✅ <b>waf-autoblock is healthy again:</b> the blocker is invoked again
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-stopped</code>
<i>Threshold Crossed: 3 out of the last 3 datapoints were not greater than or equal to the threshold (1.0).</i>`,
  },
  'notifier-failed': {
    alarm: `⚠️ <b>waf-autoblock is unhealthy:</b> a notifier invocation failed
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-notifier-failed</code>
An alert or a block report may be missing from the chat; Lambda retries it, then keeps it in the dead-letter queue.

<b>What to check:</b> the log of the notifier function <code>WafAutoblock-NotifierFunction-4D5E6F</code> (its error line names the cause); the bot token secret; the chats in <code>notifier.chatIds</code>.
<i>Threshold Crossed: 1 out of the last 1 datapoints were greater than or equal to the threshold (1.0).</i>`,
    ok: `✅ <b>waf-autoblock is healthy again:</b> the notifier runs without errors
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-notifier-failed</code>
<i>Threshold Crossed: 1 out of the last 1 datapoints were not greater than or equal to the threshold (1.0).</i>`,
  },
  'telegram-undelivered': {
    alarm: `⚠️ <b>waf-autoblock is unhealthy:</b> a Telegram message could not be delivered
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-telegram-undelivered</code>
Alerts and block reports may be missing from a chat, and this message may not arrive either: that is what notifier.opsEmail is for.

<b>What to check:</b> the bot token in the Secrets Manager secret (revoked or replaced in BotFather?); the chat ids in <code>notifier.chatIds</code>; the bot is still in each chat (an administrator of a channel). The notifier's log names the chat and Telegram's answer.
<i>Threshold Crossed: 1 out of the last 1 datapoints were greater than or equal to the threshold (1.0).</i>`,
    ok: `✅ <b>waf-autoblock is healthy again:</b> Telegram messages are delivered
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-telegram-undelivered</code>
<i>Threshold Crossed: 1 out of the last 1 datapoints were not greater than or equal to the threshold (1.0).</i>`,
  },
  'blocklist-full': {
    alarm: `⚠️ <b>waf-autoblock is unhealthy:</b> a blocklist is at least 90% full
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocklist-full</code>
When it is full, new attackers overflow and are not all blocked.

<b>What to check:</b> <code>waf-autoblock status</code> shows each IP set against its 10,000 entries, and how many were added by others; a shorter <code>blocker.blockDurationMinutes</code> lets ranges expire sooner.
<i>Threshold Crossed: 1 out of the last 1 datapoints were greater than or equal to the threshold (90.0).</i>`,
    ok: `✅ <b>waf-autoblock is healthy again:</b> every blocklist is below 90% full
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocklist-full</code>
<i>Threshold Crossed: 1 out of the last 1 datapoints were not greater than or equal to the threshold (90.0).</i>`,
  },
  overflow: {
    alarm: `⚠️ <b>waf-autoblock is unhealthy:</b> ranges to block did not fit in the blocklists
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-overflow</code>
The most recent and most active ranges were kept; the others are not blocked.

<b>What to check:</b> <code>waf-autoblock status</code> shows each IP set against its 10,000 entries, and how many were added by others; a shorter <code>blocker.blockDurationMinutes</code> lets ranges expire sooner. The block reports list the ranges that did not fit.
<i>Threshold Crossed: 1 out of the last 1 datapoints were greater than or equal to the threshold (1.0).</i>`,
    ok: `✅ <b>waf-autoblock is healthy again:</b> every range to block fits in the blocklists
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-overflow</code>
<i>Threshold Crossed: 1 out of the last 1 datapoints were not greater than or equal to the threshold (1.0).</i>`,
  },
  'dead-letters': {
    alarm: `⚠️ <b>waf-autoblock is unhealthy:</b> an event failed for good and waits in the dead-letter queue
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-dead-letters</code>
It is a ban-feed message, an alarm event or a notification that never completed; it stays in the queue (14 days) until deleted.

<b>What to check:</b> the queue <code>WafAutoblock-DeadLetters-7G8H9I</code>: <code>aws sqs receive-message --region &lt;region&gt; --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/WafAutoblock-DeadLetters-7G8H9I --max-number-of-messages 10</code> shows each event (requestPayload), its function (requestContext.functionArn) and the error (responsePayload). Once the cause is fixed, publish a ban-feed message again (its requestPayload.Records[0].Sns.Message) with <code>aws sns publish --region &lt;region&gt; --topic-arn &lt;BanFeedTopicArn&gt; --message file://message.json</code>; an old alarm event or report need not be replayed. Delete each one dealt with using <code>aws sqs delete-message</code>.
<i>Threshold Crossed: 1 out of the last 1 datapoints were greater than or equal to the threshold (1.0).</i>`,
    ok: `✅ <b>waf-autoblock is healthy again:</b> the dead-letter queue is empty: every event that failed for good was dealt with
Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-dead-letters</code>
<i>Threshold Crossed: 1 out of the last 1 datapoints were not greater than or equal to the threshold (1.0).</i>`,
  },
};

describe('golden ops messages', () => {
  it.each(HEALTH_ALARM_KINDS)('%s: unhealthy on ALARM, with what it means and what to check', (health) => {
    expect(renderHealth(healthNotice(health, 'ALARM'), detailsFor(health))).toEqual([GOLDEN[health].alarm]);
  });

  it.each(HEALTH_ALARM_KINDS)('%s: healthy again on OK after ALARM', (health) => {
    expect(renderHealth(healthNotice(health, 'OK'), DETAILS)).toEqual([GOLDEN[health].ok]);
  });
});

describe('the last error', () => {
  const failing = (lastError: OpsDetails['lastError']): string[] =>
    renderHealth(healthNotice('blocker-failing', 'ALARM'), { ...DETAILS, ...(lastError ? { lastError } : {}) });

  it('quotes a hostile error escaped, and a 5,000-character one cut, in one message within the limits', () => {
    const hostile = `<script>alert("x")</script> & &amp; </code><b>${'<&'.repeat(2_500)}`;
    expect(hostile.length).toBeGreaterThan(5_000);
    const messages = failing({ ok: true, value: { at: HEALTH_CHANGED_AT, error: hostile } });

    expectSendable(messages);
    expect(messages).toHaveLength(1);
    const [message = ''] = messages;
    expect(message).toContain(
      '<b>Last error:</b> <code>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &amp;amp; &lt;/code&gt;&lt;b&gt;&lt;&amp;',
    );
    expect(message).not.toContain('<script>');
    const quoted = /<code>([^<]*)<\/code> at 2025-03-14 02:10 UTC/.exec(message)?.[1] ?? '';
    const shown = visibleText(quoted);
    // Cut at LAST_ERROR_SHOWN characters, or shorter when it escapes to more than twice that.
    expect(shown.length).toBeLessThanOrEqual(LAST_ERROR_SHOWN);
    expect(quoted.length).toBeLessThanOrEqual(2 * LAST_ERROR_SHOWN);
    expect(shown.length).toBeGreaterThan(LAST_ERROR_SHOWN / 3);
    expect(shown.endsWith('…')).toBe(true);
    // The rest of the message is still there after the cut error.
    expect(message).toContain('<b>What to check:</b>');
  });

  it('says why it is not readable, escaped, without failing the message', () => {
    const [message = ''] = failing({ ok: false, reason: 'could not start: AccessDeniedException: <no> & no' });
    expect(message).toContain(
      '<b>Last error:</b> <i>not readable (could not start: AccessDeniedException: &lt;no&gt; &amp; no)</i>',
    );
    expect(message).toMatch(/^⚠️ <b>waf-autoblock is unhealthy:<\/b> the blocker has failed 3 runs in a row/);
  });

  it('says when the log holds no failure, as for a run stopped from outside', () => {
    const [message = ''] = failing({ ok: true, value: undefined });
    expect(message).toContain(
      "<b>Last error:</b> <i>none in the blocker's log for the hours before the alarm (a run stopped from outside, e.g. throttled, logs none)</i>",
    );
  });

  it('shows a failure line without a readable time at an unknown time', () => {
    const [message = ''] = failing({
      ok: true,
      value: { at: Number.NaN, error: 'Task timed out after 60.03 seconds' },
    });
    expect(message).toContain('<b>Last error:</b> <code>Task timed out after 60.03 seconds</code> at unknown time');
  });
});

describe('other states', () => {
  it('sends nothing for the first OK after INSUFFICIENT_DATA (seven of them on every first deploy)', () => {
    for (const health of HEALTH_ALARM_KINDS) {
      expect(renderHealth(healthNotice(health, 'OK', 'INSUFFICIENT_DATA'), DETAILS), health).toEqual([]);
    }
  });

  it('says in which account and region the alarm is, when the message says so', () => {
    const notice = healthNotice('blocker-failing', 'ALARM');
    const placed: HealthNotice = {
      ...notice,
      alarm: { ...notice.alarm, account: '123456789012', region: 'eu-west-1' },
    };
    expect(renderHealth(placed, detailsFor('blocker-failing'))[0]?.split('\n')[1]).toBe(
      'Since 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-blocker-failing</code> · account <code>123456789012</code> in <code>eu-west-1</code>',
    );
  });

  it('explains INSUFFICIENT_DATA and says what to check', () => {
    expect(renderHealth(healthNotice('dead-letters', 'INSUFFICIENT_DATA', 'OK'), DETAILS)).toEqual([
      expect.stringMatching(
        /^❔ <b>waf-autoblock health unknown:<\/b> there is not enough data to tell whether an event waits in the dead-letter queue\.\nSince 2025-03-14 02:10 UTC · alarm <code>WafAutoblock-health-dead-letters<\/code>\nThis is normal right after a deploy\. Later, it can mean that the function or queue the alarm watches is gone\.\n\n<b>What to check:<\/b> the queue <code>WafAutoblock-DeadLetters-7G8H9I<\/code>: /,
      ),
    ]);
  });

  it('says in plain sentences, for every health alarm, what INSUFFICIENT_DATA leaves unknown', () => {
    for (const health of HEALTH_ALARM_KINDS) {
      const [headline = ''] =
        renderHealth(healthNotice(health, 'INSUFFICIENT_DATA', 'OK'), DETAILS)[0]?.split('\n') ?? [];
      expect(headline, health).toMatch(
        /^❔ <b>waf-autoblock health unknown:<\/b> there is not enough data to tell (whether|how) [^()]+\.$/,
      );
    }
  });

  it("names the alarm's region in the dead-letter queue's commands, when the alarm ARN gives it", () => {
    const notice = healthNotice('dead-letters', 'ALARM');
    const placed: HealthNotice = { ...notice, alarm: { ...notice.alarm, region: 'eu-west-1' } };
    const [message = ''] = renderHealth(placed, DETAILS);
    expect(message).toContain('<code>aws sqs receive-message --region eu-west-1 --queue-url https://sqs.');
    expect(message).toContain('<code>aws sns publish --region eu-west-1 --topic-arn &lt;BanFeedTopicArn&gt;');
    expect(message).not.toContain('&lt;region&gt;');
  });

  it('shows a state CloudWatch does not have as any other alarm would', () => {
    expect(renderHealth(healthNotice('overflow', 'MAYBE', 'OK'))).toEqual([
      `ℹ️ <b>Alarm state changed</b> <code>WafAutoblock-health-overflow</code>
<i>Threshold Crossed: 1 out of the last 1 datapoints were not greater than or equal to the threshold (1.0).</i>
Now <code>MAYBE</code>, was OK at 2025-03-14 02:10 UTC`,
    ]);
  });

  it('still says what happened when the alarm message carried no trigger (a metric-math alarm)', () => {
    const bare = (health: HealthAlarmKind, state = 'ALARM'): string =>
      renderHealth(withoutTrigger(healthNotice(health, state)))[0]?.split('\n')[0] ?? '';
    expect(bare('blocker-failed')).toBe('⚠️ <b>waf-autoblock is unhealthy:</b> a blocker run failed');
    expect(bare('blocker-failing')).toBe('⚠️ <b>waf-autoblock is unhealthy:</b> the blocker keeps failing');
    expect(bare('blocker-stopped')).toBe('⚠️ <b>waf-autoblock is unhealthy:</b> the blocker is not being invoked');
    expect(bare('blocklist-full')).toBe('⚠️ <b>waf-autoblock is unhealthy:</b> a blocklist is nearly full');
    expect(bare('blocklist-full', 'OK')).toBe('✅ <b>waf-autoblock is healthy again:</b> the blocklists have room');
  });

  it('names no function, log group or queue it was not told, instead of inventing one', () => {
    const [message = ''] = renderHealth(withoutTrigger(healthNotice('dead-letters', 'ALARM')));
    expect(message).toContain(
      '<b>What to check:</b> the queue: <code>aws sqs receive-message --region &lt;region&gt; --queue-url &lt;url&gt;',
    );
    const [failed = ''] = renderHealth(healthNotice('blocker-failed', 'ALARM'));
    expect(failed).toContain("<b>What to check:</b> the last error; the blocker's log group (or run");
    expect(failed).not.toContain('Last error:');
  });
});

describe('any alarm message', () => {
  const notices = fc
    .record({
      health: fc.constantFrom(...HEALTH_ALARM_KINDS),
      state: fc.constantFrom('ALARM', 'OK', 'INSUFFICIENT_DATA'),
      oldState: fc.constantFrom('ALARM', 'OK', 'INSUFFICIENT_DATA'),
      alarmName: hostileText,
      reason: hostileText,
      dimension: hostileText,
      error: hostileText,
    })
    .map(({ health, state, oldState, alarmName, reason, dimension, error }) => {
      const notice = healthNotice(health, state, oldState);
      const trigger = { ...notice.alarm.trigger, dimensions: { FunctionName: dimension, QueueName: dimension } };
      const hostile: HealthNotice = { ...notice, alarm: { ...notice.alarm, alarmName, reason, trigger } };
      const details: OpsDetails = { ...DETAILS, lastError: { ok: true, value: { at: HEALTH_CHANGED_AT, error } } };
      return { hostile, details };
    });

  it('renders one sendable message, whatever the name, reason, dimensions and error hold', () => {
    fc.assert(
      fc.property(notices, ({ hostile, details }) => {
        fc.pre(!(hostile.alarm.newState === 'OK' && hostile.alarm.oldState !== 'ALARM'));
        const messages = renderHealth(hostile, details);
        expectSendable(messages);
        expect(messages).toHaveLength(1);
      }),
    );
  });
});
