/**
 * Telegram's formatting limits that the configuration checks at synth time and the notifier obeys
 * when it renders. A contract: imports nothing outside lambdas/contracts, no AWS SDK, no CDK.
 */

/**
 * Telegram applies the formatting of at most this many entities in one message (each `<b>`,
 * `<i>`, `<code>`, ... element is one, nested ones each count) and shows the rest as plain text.
 * The Bot API reference does not state it: `sendMessage` only says "Text of the message to be
 * sent, 1-4096 characters after entities parsing" (https://core.telegram.org/bots/api#sendmessage).
 * python-telegram-bot lists it as `MAX_MESSAGE_ENTITIES = 100`, "found by experimentation: Beyond
 * this cap telegram will simply ignore further formatting styles"
 * (https://docs.python-telegram-bot.org/en/v13.2/telegram.constants.html), as users report
 * (https://github.com/rubenlagus/TelegramBots/issues/854: "all tags after the 100th are ignored").
 */
export const TELEGRAM_ENTITY_LIMIT = 100;

/**
 * Most ranges one list of a block report shows, whatever `maxListedRanges`: each is one `<code>`
 * entity, so the list with its heading and its "and N more" fits the entities Telegram formats in
 * one message. More would lose their formatting, or cut the list across messages.
 */
export const MAX_LISTED_RANGES = TELEGRAM_ENTITY_LIMIT - 2;
