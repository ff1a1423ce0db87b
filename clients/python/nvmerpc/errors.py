"""JSON-RPC error classes, one per symbolic name in the OpenRPC document.

Every error the daemon sends carries error.data.name; the class is chosen by
the numeric code (the contract), and an unknown code gives plain RpcError.
"""


class RpcError(Exception):
    """A JSON-RPC error response: .code, .message and .data (a dict or None)."""

    code = None
    name = "RpcError"

    def __init__(self, code, message, data=None, response=None):
        super().__init__(f"{code} {message}" + (f": {data}" if data is not None else ""))
        self.code = code
        self.message = message
        self.data = data
        self.response = response


def _make(name, code):
    cls = type(name, (RpcError,), {"code": code, "name": name,
                                  "__doc__": f"JSON-RPC error {code} ({name})."})
    return cls


ParseError = _make("ParseError", -32700)
InvalidRequest = _make("InvalidRequest", -32600)
MethodNotFound = _make("MethodNotFound", -32601)
InvalidParams = _make("InvalidParams", -32602)
InternalError = _make("InternalError", -32603)
DeviceNotFound = _make("DeviceNotFound", -32001)
DeviceBusy = _make("DeviceBusy", -32002)
Timeout = _make("Timeout", -32003)
NvmeStatus = _make("NvmeStatus", -32004)
MiStatus = _make("MiStatus", -32005)
NotSupported = _make("NotSupported", -32006)
PermissionDenied = _make("PermissionDenied", -32007)
ConfirmationRequired = _make("ConfirmationRequired", -32008)
TransportError = _make("TransportError", -32009)
Cancelled = _make("Cancelled", -32010)
ResultTooLarge = _make("ResultTooLarge", -32011)
StateChanged = _make("StateChanged", -32012)
ServerBusy = _make("ServerBusy", -32013)

ERROR_CLASSES = {cls.code: cls for cls in (
    ParseError, InvalidRequest, MethodNotFound, InvalidParams, InternalError,
    DeviceNotFound, DeviceBusy, Timeout, NvmeStatus, MiStatus, NotSupported,
    PermissionDenied, ConfirmationRequired, TransportError, Cancelled,
    ResultTooLarge, StateChanged, ServerBusy)}


class ConnectionClosed(ConnectionError):
    """The peer closed the connection before the awaited answer arrived."""


class ProtocolError(ValueError):
    """The peer sent a line that is not a JSON-RPC 2.0 message."""


def error_from_response(response):
    """Returns the RpcError (subclass) instance for an error response dict."""
    err = response.get("error") or {}
    code = err.get("code")
    cls = ERROR_CLASSES.get(code, RpcError)
    return cls(code, err.get("message", ""), err.get("data"), response)
