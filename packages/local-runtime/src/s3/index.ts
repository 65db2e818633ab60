/** A local, path-style S3 on disk that sends the template's S3 event notifications to its functions. */
export { eventKey, eventMatches } from './notifications';
export { type LocalS3, type LocalS3Options, startLocalS3 } from './server';
export { keyToRelativePath, relativePathToKey } from './store';
