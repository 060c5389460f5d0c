/**
 * Thin adapter over CloudFront: the account's distributions, for naming them in an attack summary
 * (CloudFront has no per-distribution read permission to scope this to: ListDistributions is global).
 */
import { CloudFrontClient, ListDistributionsCommand } from '@aws-sdk/client-cloudfront';
import { ReadError } from '#shared/errors';

/** What the notifier shows of a distribution. */
export interface DistributionInfo {
  readonly id: string;
  readonly domainName: string;
  readonly aliases: readonly string[];
  readonly comment: string;
  readonly enabled: boolean;
}

/** Pages read at most (100 distributions each): far beyond CloudFront's default quota of 200. */
const MAX_PAGES = 50;

/** Creates the CloudFront client once per module (CloudFront's API lives in us-east-1). */
export function createCloudFrontClient(): CloudFrontClient {
  return new CloudFrontClient({ region: 'us-east-1' });
}

/**
 * Every distribution of the account, following `NextMarker` page by page.
 * @throws {ReadError} when a page cannot be read.
 */
export async function listDistributions(client: CloudFrontClient): Promise<DistributionInfo[]> {
  const distributions: DistributionInfo[] = [];
  let marker: string | undefined;
  try {
    for (let page = 0; page < MAX_PAGES; page++) {
      const { DistributionList: list } = await client.send(
        new ListDistributionsCommand({ MaxItems: 100, ...(marker ? { Marker: marker } : {}) }),
      );
      for (const item of list?.Items ?? []) {
        if (!item.Id) continue;
        distributions.push({
          id: item.Id,
          domainName: item.DomainName ?? '',
          aliases: item.Aliases?.Items ?? [],
          comment: item.Comment ?? '',
          enabled: item.Enabled !== false,
        });
      }
      marker = list?.IsTruncated ? list.NextMarker : undefined;
      if (!marker) break;
    }
  } catch (cause) {
    throw new ReadError('CloudFront distributions', { cause });
  }
  return distributions;
}
