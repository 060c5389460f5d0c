/**
 * Names the construct gives its resources and the CLI reads back: one definition for both.
 * Imports nothing from the AWS SDK or the CDK.
 */

/**
 * What follows the name prefix in the web ACL's name (`<namePrefix>-web-acl`): lib/blocklist-web-acl
 * writes it, and the CLI strips it to find the deployment's health alarms (`<namePrefix>-health-<kind>`).
 */
export const WEB_ACL_NAME_SUFFIX = '-web-acl';
