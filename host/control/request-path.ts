// A request's path and query, read without trusting it: any bytes give a result or undefined.
export interface RequestPath {
  pathname: string;
  query: URLSearchParams;
}

export function requestPath(url: string | undefined): RequestPath | undefined {
  if (url === undefined || !url.startsWith("/")) return undefined;
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  try {
    return { pathname: decodeURIComponent(pathname), query: new URLSearchParams(q < 0 ? "" : url.slice(q + 1)) };
  } catch {
    return undefined;
  }
}
