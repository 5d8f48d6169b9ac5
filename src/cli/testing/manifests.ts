/** A ConfigMap and a Secret in one multi-document YAML, as users apply them (tests only). */
export const CONFIGMAP_AND_SECRET_YAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels:
    app: web
data:
  color: blue
  size: large
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  labels:
    app: web
stringData:
  password: s3cr3t!!
`;
