/**
 * What the router answers itself: OpenShift's "Application is not available" page when no
 * route or no ready endpoint serves a request, and short pages for the other errors. Every
 * error path answers the client; none names a route, namespace or address.
 */

const STYLE =
  'body{font-family:sans-serif;max-width:46em;margin:4em auto;padding:0 1em;color:#333}' +
  'h1{font-weight:normal}li{margin:.6em 0}';

function page(title: string, body: string): string {
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title>` +
    `<style>${STYLE}</style></head><body><h1>${title}</h1>${body}</body></html>\n`
  );
}

/** 503: no route for the host, none for the path, or no ready pod behind the route. */
export const NOT_AVAILABLE_PAGE = Buffer.from(
  page(
    'Application is not available',
    '<p>The application is currently not serving requests at this endpoint. ' +
      'It may not have been started or is still starting.</p>' +
      '<p>Possible reasons you are seeing this page:</p><ul>' +
      '<li><strong>The host does not exist.</strong> Check that the host name is typed ' +
      'correctly and that a route for it exists.</li>' +
      '<li><strong>The host exists, but no route matches this path.</strong> Check the path, ' +
      'and that the route was created with the path you expect.</li>' +
      '<li><strong>The route matches, but all of its pods are down or not ready.</strong> ' +
      'Check that the pods the route exposes are running and ready.</li></ul>',
  ),
);

export const BAD_GATEWAY_PAGE = Buffer.from(
  page(
    'Bad Gateway',
    '<p>The application did not answer properly: its connection was refused or broken, or ' +
      'its response was not valid HTTP.</p>',
  ),
);

export const GATEWAY_TIMEOUT_PAGE = Buffer.from(
  page('Gateway Timeout', '<p>The application did not answer in time.</p>'),
);

export const BAD_REQUEST_PAGE = Buffer.from(
  page('Bad Request', '<p>The request could not be understood by the router.</p>'),
);

export const NOT_IMPLEMENTED_PAGE = Buffer.from(
  page('Not Implemented', '<p>The request uses a transfer coding the router does not handle.</p>'),
);

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function pageFor(status: number): Buffer {
  switch (status) {
    case 502:
      return BAD_GATEWAY_PAGE;
    case 503:
      return NOT_AVAILABLE_PAGE;
    case 504:
      return GATEWAY_TIMEOUT_PAGE;
    case 501:
      return NOT_IMPLEMENTED_PAGE;
    default:
      return BAD_REQUEST_PAGE;
  }
}

/** A complete raw response for a socket that no longer has an HTTP response object (client
 * errors, refused upgrades). Always closes the connection. */
export function rawResponse(status: number): Buffer {
  const body = pageFor(status);
  const head =
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
    'content-type: text/html; charset=utf-8\r\n' +
    'cache-control: no-cache\r\n' +
    `content-length: ${body.length}\r\n` +
    'connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
