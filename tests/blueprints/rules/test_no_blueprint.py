from goflow.loading import load_paths

from ..helpers import at, single, write


def test_a_directory_without_blueprint_files(tmp_path):
    write(tmp_path, "README.txt", "nothing here")
    write(tmp_path, ".hidden/bp.json", "{")
    p = single(load_paths([tmp_path]))
    assert at(p) == ("error", "no-blueprint", "", None, None)
    assert p.file == str(tmp_path)
