/**
 * Telegram's entity count, as the notifier tests check it: Telegram formats at most 100 entities
 * in one message and shows the rest as plain text (see TELEGRAM_ENTITY_LIMIT in
 * lambdas/notifier/telegram-html.ts for the sources). Written here from Telegram's list of HTML
 * tags, not from the renderer, so that the two cannot agree by construction.
 */

/** The most entities Telegram formats in one message. */
export const TELEGRAM_FORMATS_AT_MOST = 100;

// Every element of Telegram's HTML parse mode is one entity, however deeply nested:
// https://core.telegram.org/bots/api#html-style
const OPENING_TAG =
  /<(?:b|strong|i|em|u|ins|s|strike|del|code|pre|a|tg-spoiler|tg-emoji|blockquote|span)(?:\s[^>]*)?>/g;

/** How many entities Telegram would make of `html` (sent with parse_mode HTML). */
export function telegramEntities(html: string): number {
  return html.match(OPENING_TAG)?.length ?? 0;
}
