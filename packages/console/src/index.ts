/**
 * @real-time-platform/console — the local console page that `npm start` serves (see README). This module is the
 * Node side: building the page; the page itself is in src/app.
 */
export { buildConsoleAssets, type ConsoleAsset, pageWeight } from './build';
