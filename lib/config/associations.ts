/**
 * A REGIONAL web ACL can be associated only with resources of its own region and account: WAF
 * refuses any other association at deploy. With `region` and `account` set the configuration can
 * tell at synth.
 */
import { accountOfArn } from './account';
import type { ConfigProblem } from './config-error';

/** The `associations` entries outside the configured region or account, one problem each. */
export function associationProblems(config: {
  readonly account?: string | undefined;
  readonly region?: string | undefined;
  readonly associations: readonly string[];
}): ConfigProblem[] {
  return config.associations.flatMap((arn, index) => {
    const region = arn.split(':')[3];
    const account = accountOfArn(arn);
    const path = ['associations', index];
    if (config.region !== undefined && region !== config.region) {
      return [
        {
          path,
          message: `is in region ${region ?? '(none)'}; the web ACL, in region ${config.region}, can protect only resources of its own region: deploy one stack per region`,
        },
      ];
    }
    if (config.account !== undefined && account !== config.account) {
      return [
        {
          path,
          message: `belongs to account ${account ?? '(none)'}; the web ACL can protect only resources of its own account ${config.account}`,
        },
      ];
    }
    return [];
  });
}
