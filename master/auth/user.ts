/** Who a request is from, once its bearer token is checked. */
export interface UserInfo {
  name: string;
  groups: readonly string[];
}

export const ADMIN_USER = 'admin';
export const NODE_BOOTSTRAP_USER = 'system:node-bootstrap';
/** The master's own controllers (scheduler, node lifecycle), calling the API over loopback. */
export const CONTROLLER_MANAGER_USER = 'system:controller-manager';

/** The router built into `slipway up`: reads routes, services and endpoints. */
export const ROUTER_USER = 'system:router';

export const CLUSTER_ADMINS_GROUP = 'system:cluster-admins';
export const NODE_BOOTSTRAPPERS_GROUP = 'system:node-bootstrappers';
export const AUTHENTICATED_GROUP = 'system:authenticated';
