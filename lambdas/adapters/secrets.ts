/**
 * Thin adapter over Secrets Manager, through Powertools Parameters: the bot token, cached across warm
 * invocations so that an attack's burst of alarms and reports costs one GetSecretValue per few minutes.
 * The value is returned to the caller and never logged or put in an error here.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReadError } from '#shared/errors';

/** How long a read token is reused: a rotated token takes effect within this time. */
export const TOKEN_CACHE_SECONDS = 300;

/** Creates the Secrets Manager client once per module, so warm invocations reuse its connections. */
export function createSecretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}

/** Reads one secret's string value, cached for {@link TOKEN_CACHE_SECONDS}. */
export class SecretString {
  private readonly provider: SecretsProvider;

  constructor(
    client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly maxAgeSeconds = TOKEN_CACHE_SECONDS,
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  /**
   * The secret's current string, whitespace trimmed (a pasted token often ends in a newline).
   * @throws {ReadError} naming the secret (never its value) when it cannot be read or is binary.
   */
  async value(): Promise<string> {
    let value: unknown;
    try {
      value = await this.provider.get(this.secretId, { maxAge: this.maxAgeSeconds });
    } catch (cause) {
      throw new ReadError(`secret ${this.secretId}`, { cause });
    }
    if (typeof value !== 'string') {
      throw new ReadError(`secret ${this.secretId}`, {
        cause: new Error('the secret holds no string (store the bot token with --secret-string)'),
      });
    }
    return value.trim();
  }
}
