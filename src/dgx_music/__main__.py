from dgx_music.cli.main import run

run()
