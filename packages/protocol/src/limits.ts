/** Limits every part of the platform agrees on (API Gateway's, DynamoDB's and the platform's own). */

/** API Gateway's limit for one WebSocket message (128 KB); a bigger post fails with 413 and a bigger frame closes 1009. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Largest client frame body the platform parses. The largest valid frame (20 keys of 1 KB, escaped) is far below it. */
export const MAX_FRAME_BODY_BYTES = 64 * 1024;
/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Most keys in one $connect or one subscribe/unsubscribe. */
export const MAX_KEYS_PER_REQUEST = 20;
/** Most subscriptions one connection may hold, so $disconnect can always delete them within its timeout. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;
/** Longest user id (from a token claim or a path), in UTF-8 bytes. */
export const MAX_USER_ID_BYTES = 128;
