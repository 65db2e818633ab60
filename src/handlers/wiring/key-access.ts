import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createCalendarAccessRule } from '../../adapters/calendar-store';
import { createFriendStore } from '../../adapters/friend-store';
import {
  createKeyAccessPolicy,
  type KeyAccessPolicy,
  type KeyAccessRule,
  ownerOnlyRule,
} from '../../domain/key-access';
import { presenceAccessRule } from '../../domain/presence';
import { chatKeyAccess } from '../logic/chat-membership';

/**
 * The platform's per-key authorization, used by $connect, `subscribe` and the REST reads. Each domain contributes
 * the rule for its key prefix; keys of no domain are public.
 */
export interface PlatformKeyAccessDeps {
  documents: DynamoDBDocumentClient;
  dataTableName: string;
  /** REAL_TIME_ITEM_KEY: the data table's partition key attribute. */
  keyAttribute: string;
  presenceVisibility: 'all' | 'friends';
}

/** The rules of every domain, composed. */
export function createPlatformKeyAccess(deps: PlatformKeyAccessDeps): KeyAccessPolicy {
  const rules: KeyAccessRule[] = [
    // A user's own feeds: chat messages of their conversations and their friend requests.
    ownerOnlyRule('inbox:'),
    ownerOnlyRule('friends:'),
    // calendar:<ownerId>: the owner and the users the owner shared the calendar with.
    createCalendarAccessRule({ ddb: deps.documents, tableName: deps.dataTableName, keyAttribute: deps.keyAttribute }),
    // presence:<userId>: any signed-in user (PresenceVisibility=all), or the user and accepted friends (friends).
    presenceAccessRule({
      visibility: deps.presenceVisibility,
      areFriends: createFriendStore({
        ddb: deps.documents,
        dataTable: deps.dataTableName,
        keyAttribute: deps.keyAttribute,
      }).areFriends,
    }),
    // chat:<conversationId>: its participants only (unknown conversations are refused the same way).
    chatKeyAccess({ documents: deps.documents, dataTableName: deps.dataTableName, keyAttribute: deps.keyAttribute }),
  ];
  return createKeyAccessPolicy(rules);
}
