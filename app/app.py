"The magic mirror, as a Hugging Face Space runs it (`python app.py`). Written by duckling-mirror's `export_mirror`."
from pathlib import Path
from mirror import MAX_FILE_SIZE, make_demo
make_demo(Path(__file__).parent).launch(max_file_size=MAX_FILE_SIZE)
