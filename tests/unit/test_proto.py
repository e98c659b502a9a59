"""The generated modules in frontend/_pb match proto/ (scripts/genproto --check)."""

import subprocess
import sys
from pathlib import Path

from frontend._pb import gateway_pb2, ops_pb2

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_fresh():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "genproto"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_wire_field_numbers_of_key_messages():
    fields = {f.name: f.number for f in gateway_pb2.SolveRequest.DESCRIPTOR.fields}
    assert fields["Definition"] == 1 and fields["FrontendInputs"] == 13
    assert fields["CacheImports"] == 12 and fields["allowResultArrayRef"] == 6
    assert {f.name: f.number for f in ops_pb2.FileOp.DESCRIPTOR.fields} == {"actions": 2}
    assert ops_pb2.Op.DESCRIPTOR.fields_by_name["merge"].number == 6
    assert gateway_pb2.ReturnRequest.DESCRIPTOR.fields_by_name["error"].number == 2


def test_status_is_wire_compatible_with_google_rpc_status():
    status = gateway_pb2.RpcStatus(code=2, message="boom")
    # google.rpc.Status: code=1 (int32), message=2 (string)
    assert status.SerializeToString() == b"\x08\x02\x12\x04boom"
