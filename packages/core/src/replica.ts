/** A replica's id. On the mesh it is the node's libp2p peer id string. */
export type ReplicaId = string;
