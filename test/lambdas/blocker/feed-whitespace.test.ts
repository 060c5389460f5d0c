/**
 * The ban feed reads its text fields by the whitespace rule of every value (issue 10): surrounding
 * ASCII whitespace, U+00A0 and U+FEFF trimmed; any other Unicode space refused, naming the key.
 */
import { describe, expect, it } from 'vitest';
import { parseFeedMessage } from '#blocker/feed';
import { planActions } from '#blocker/actions';
import { createNormalizePolicy } from '#core/normalize';

const policy = createNormalizePolicy({ ipv4Prefix: 24, ipv6Prefix: 64 });

describe('feed messages and whitespace', () => {
  it('trims action, source and reason, and the run reads the address trimmed', () => {
    const outcome = parseFeedMessage(
      JSON.stringify({ action: ' ban', address: '\u00a045.33.12.7 ', source: 'fail2ban@web1\n', reason: ' sshd ' }),
    );
    expect(outcome).toEqual({
      action: { action: 'ban', address: '\u00a045.33.12.7 ', source: 'fail2ban@web1', reason: 'sshd' },
    });
    if (!('action' in outcome)) return;
    expect(planActions([outcome.action], policy, 60_000).bans.map((ban) => ban.range)).toEqual(['45.33.12.0/24']);
  });

  it.each([
    [{ address: '45.33.12.7\u2003' }, 'address "45.33.12.7\u2003" holds U+2003 (em space)'],
    [{ source: 'fail2ban\u3000' }, 'source "fail2ban\u3000" holds U+3000 (ideographic space)'],
    [{ reason: 'ssh\u202fbrute' }, 'reason "ssh\u202fbrute" holds U+202F (narrow no-break space)'],
  ])('%j is turned away naming the key and the character', (field, problem) => {
    const message = { action: 'ban', address: '45.33.12.7', source: 'fail2ban@web1', ...field };
    expect(parseFeedMessage(JSON.stringify(message))).toEqual({
      problem: `${problem}, a space that is not trimmed; write the value without it`,
    });
  });
});
