/** The bot token's secret and the alarm history, against strict SDK mocks. */
import { CloudWatchClient, DescribeAlarmHistoryCommand } from '@aws-sdk/client-cloudwatch';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readAlarmStart } from '#adapters/alarm-history';
import { SecretString } from '#adapters/secrets';
import { ReadError } from '#shared/errors';
import { ALARM_NAME, MINUTE, NOW, TOKEN } from './fixtures';

const secrets = mockClient(SecretsManagerClient);
const cloudwatch = mockClient(CloudWatchClient);
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:BotToken-AbCdEf';

beforeEach(() => {
  secrets.reset();
  cloudwatch.reset();
  secrets.onAnyCommand().rejects(new Error('unexpected command'));
  cloudwatch.onAnyCommand().rejects(new Error('unexpected command'));
});

describe('SecretString', () => {
  const client = () => new SecretsManagerClient({ region: 'us-east-1', credentials });

  it('reads the token once and serves warm invocations from the cache, trimmed', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ID }, true).resolves({ SecretString: `${TOKEN}\n` });
    const token = new SecretString(client(), SECRET_ID);
    await expect(token.value()).resolves.toBe(TOKEN);
    await expect(token.value()).resolves.toBe(TOKEN);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('reads again once the cache has expired', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    const token = new SecretString(client(), SECRET_ID, 0);
    await token.value();
    await token.value();
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('fails as a ReadError naming the secret, never with its value', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(
        new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
      );
    const error: unknown = await new SecretString(client(), SECRET_ID).value().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadError);
    expect((error as Error).message).toContain(`could not read secret ${SECRET_ID}`);
  });

  it('refuses a binary secret', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    await expect(new SecretString(client(), SECRET_ID).value()).rejects.toThrow(/holds no string/);
  });
});

describe('readAlarmStart', () => {
  const client = new CloudWatchClient({ region: 'us-east-1', credentials });
  const change = (minutesAgo: number, from: string, to: string) => ({
    AlarmName: ALARM_NAME,
    AlarmType: 'MetricAlarm' as const,
    Timestamp: new Date(NOW - minutesAgo * MINUTE),
    HistoryItemType: 'StateUpdate' as const,
    HistorySummary: `Alarm updated from ${from} to ${to}`,
    HistoryData: JSON.stringify({
      version: '1.0',
      oldState: { stateValue: from },
      newState: { stateValue: to, stateReason: 'Threshold Crossed' },
    }),
  });

  it('finds the latest change into ALARM before the OK, newest first', async () => {
    cloudwatch
      .on(
        DescribeAlarmHistoryCommand,
        {
          AlarmName: ALARM_NAME,
          AlarmTypes: ['MetricAlarm'],
          HistoryItemType: 'StateUpdate',
          StartDate: new Date(NOW - 7 * 24 * 60 * MINUTE),
          EndDate: new Date(NOW + MINUTE),
          ScanBy: 'TimestampDescending',
          MaxRecords: 20,
        },
        true,
      )
      .resolves({
        AlarmHistoryItems: [
          change(0, 'ALARM', 'OK'),
          change(40, 'INSUFFICIENT_DATA', 'ALARM'),
          change(45, 'ALARM', 'INSUFFICIENT_DATA'),
          change(50, 'OK', 'ALARM'),
          { ...change(60, 'OK', 'ALARM'), HistoryData: 'not json' },
        ],
      });
    await expect(readAlarmStart(client, ALARM_NAME, NOW)).resolves.toBe(NOW - 40 * MINUTE);
  });

  it('is undefined when the history holds no ALARM, and a ReadError when it cannot be read', async () => {
    cloudwatch
      .on(DescribeAlarmHistoryCommand)
      .resolvesOnce({ AlarmHistoryItems: [change(5, 'INSUFFICIENT_DATA', 'OK')] });
    await expect(readAlarmStart(client, ALARM_NAME, NOW)).resolves.toBeUndefined();
    cloudwatch.on(DescribeAlarmHistoryCommand).rejects(new Error('AccessDenied'));
    await expect(readAlarmStart(client, ALARM_NAME, NOW)).rejects.toThrow(
      `could not read alarm history of ${ALARM_NAME}: Error: AccessDenied`,
    );
  });
});
