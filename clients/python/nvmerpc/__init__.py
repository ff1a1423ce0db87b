"""nvmerpc: a standard-library client for nvmerpcd (JSON-RPC 2.0, NDJSON).

    with nvmerpc.Client("/run/nvmerpcd.sock") as c:
        print(c.nvme_id_ctrl(device="sim0")["sn"])
        for zone in c.nvme_zns_report_zones_stream(device="sim0n2"):
            ...
"""
from .errors import (ERROR_CLASSES, Cancelled, ConfirmationRequired, ConnectionClosed,
                     DeviceBusy, DeviceNotFound, InternalError, InvalidParams,
                     InvalidRequest, MethodNotFound, MiStatus, NotSupported, NvmeStatus,
                     ParseError, PermissionDenied, ProtocolError, ResultTooLarge, RpcError,
                     ServerBusy, StateChanged, Timeout, TransportError, error_from_response)
from .client import DEFAULT_SOCKET, Client, Stream
from .transport import ProcessTransport, SocketTransport, StreamTransport, Transport

__all__ = [
    "Client", "Stream", "DEFAULT_SOCKET", "Transport", "SocketTransport", "StreamTransport",
    "ProcessTransport", "RpcError", "ERROR_CLASSES", "error_from_response", "ConnectionClosed",
    "ProtocolError", "ParseError", "InvalidRequest", "MethodNotFound", "InvalidParams",
    "InternalError", "DeviceNotFound", "DeviceBusy", "Timeout", "NvmeStatus", "MiStatus",
    "NotSupported", "PermissionDenied", "ConfirmationRequired", "TransportError", "Cancelled",
    "ResultTooLarge", "StateChanged", "ServerBusy",
]
